#!/usr/bin/python3
"""A fault-injecting HTTP/1.1 reverse proxy for loopback integration tests.

Usage: fault_proxy.py --upstream http://127.0.0.1:18080 [--listen 127.0.0.1:0] [--port-file FILE]

Prints "PORT <n>" on stdout once it listens (and writes <n> to FILE), then runs until killed.
One thread per client connection, one upstream connection per client connection. Requests are
forwarded byte for byte: the request line, every header as sent (Host included: the clients sign
it with SigV4 and the server checks it) and the body, streamed in pieces of 256 KiB with
Content-Length or chunked framing kept as it is. Responses stream back the same way (Content-Length,
chunked, or until the upstream closes); interim 1xx responses (100 Continue) are relayed.

Control API on the same port, never forwarded (JSON in and out):
  POST   /__fault__/rules   a JSON list of rules, replacing all rules (their counters restart)
  GET    /__fault__/rules   the rules with their match counters
  DELETE /__fault__/rules   no rules
  GET    /__fault__/log     the requests since the last DELETE /__fault__/log, in arrival order:
                            {method, path, status, request_bytes, response_bytes, fault, error}
                            (bytes count body payload; status is null when no answer was sent)
  DELETE /__fault__/log

A rule: {"method": "PUT", "path_regex": "...", "skip": K, "times": N, "action": ..., ...}
  method      optional, exact (case-sensitive) match
  path_regex  optional, re.search on the request target (path with query)
  skip        let the first K matching requests through untouched (default 0)
  times       apply to the N matching requests after those (default 1; null: to all of them)
Every rule counts each request it matches, whether or not another rule fired for it; the first
rule (in list order) whose window [skip, skip + times) holds its count applies its action.
Actions:
  "status"            answer {"status": 503, "body": "<xml...>", "headers": {...}} without
                      forwarding. The request body is read and discarded first and the connection
                      stays usable (keep-alive), except when the request carries
                      "Expect: 100-continue": then the answer goes out at once with
                      "Connection: close" (the client must not send the body) and the connection
                      is closed. "close": true closes the connection after the answer in any case.
  "cut_request"       forward the request head and the first "after_bytes" bytes of the body, then
                      close both connections (the client sees a reset or EOF while sending).
  "cut_response"      forward the request, stream the response head and the first "after_bytes"
                      bytes of the response body (payload bytes, chunk framing aside), then close
                      the client connection: it sees exactly those bytes and then EOF.
  "flip_request_byte" forward the request with body byte number "offset" XORed with 0xFF.
  "flip_response_byte" relay the response with body byte number "offset" XORed with 0xFF.
  "stall_request"     forward the first "after_bytes" bytes of the request body, then nothing for
                      "seconds" (default 5), then the rest (a client's stall timeout fires first).
  "stall_response"    the same in the response body.
  "delay"             sleep "seconds" before forwarding.
The cuts close with a FIN (the peer gets the bytes before it in order); "reset": true closes
with a TCP reset instead.
"""
import argparse
import json
import os
import re
import select
import socket
import struct
import sys
import threading
import time
import urllib.parse

PIECE = 256 * 1024
MAX_LINE = 64 * 1024
MAX_HEADERS = 200
CONTROL_PREFIX = "/__fault__"
MAX_LOG = 100_000


class Closed(Exception):
    """The peer closed the connection (or a read failed) before a message ended."""


class Cut(Exception):
    """A cut action fired: the connections are to be closed."""


class Reader:
    """Buffered reads from a socket. Not socket.makefile: the file object would keep the file
    descriptor open after close(), and the cut actions must close it for real."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()

    def _fill(self):
        data = self.sock.recv(PIECE)
        if not data:
            raise Closed("connection closed by peer")
        self.buf += data

    def readline(self):
        """One line with its line ending."""
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line = bytes(self.buf[: i + 1])
                del self.buf[: i + 1]
                return line
            if len(self.buf) > MAX_LINE:
                raise Closed("line too long")
            self._fill()

    def read_some(self, n):
        """Up to n bytes (at least one): the buffer first, then straight from the socket so large
        bodies don't go through the buffer."""
        if self.buf:
            data = bytes(self.buf[:n])
            del self.buf[:n]
            return data
        data = self.sock.recv(min(n, PIECE))
        if not data:
            raise Closed("connection closed by peer")
        return data

    def read_exact(self, n):
        parts = []
        while n > 0:
            data = self.read_some(n)
            parts.append(data)
            n -= len(data)
        return b"".join(parts)

    def has_buffered(self):
        return bool(self.buf)


class Head:
    """A request or response head: the start line and the header lines, kept as received."""

    def __init__(self, start, lines):
        self.start = start
        self.lines = lines  # raw header lines, line endings included
        self.headers = []  # (lower-case name, value)
        for line in lines:
            name, _, value = line.decode("latin-1").partition(":")
            self.headers.append((name.strip().lower(), value.strip()))

    def raw(self):
        return self.start + b"".join(self.lines) + b"\r\n"

    def get(self, name):
        values = [v for n, v in self.headers if n == name]
        return ", ".join(values) if values else None

    def tokens(self, name):
        value = self.get(name)
        return [t.strip().lower() for t in value.split(",")] if value else []

    def body_framing(self):
        """("chunked",), ("length", n) or None (no framing header)."""
        te = self.tokens("transfer-encoding")
        if te:
            if te[-1] == "chunked":
                return ("chunked",)
            return None
        cl = self.get("content-length")
        if cl is not None:
            return ("length", int(cl.split(",")[0]))
        return None


def read_head(reader):
    start = reader.readline()
    # Tolerate stray empty lines between messages (RFC 9112 2.2).
    while start in (b"\r\n", b"\n"):
        start = reader.readline()
    lines = []
    while True:
        line = reader.readline()
        if line in (b"\r\n", b"\n"):
            return Head(start, lines)
        lines.append(line)
        if len(lines) > MAX_HEADERS:
            raise Closed("too many header lines")


class Tap:
    """Watches a body's payload bytes as they pass: flips one byte, cuts after some, or stalls
    after some."""

    def __init__(self, flip_offset=None, cut_after=None, stall_after=None, stall_seconds=0.0):
        self.pos = 0
        self.flip_offset = flip_offset
        self.cut_after = cut_after
        self.flipped = False
        self.stall_after = stall_after
        self.stall_seconds = stall_seconds

    def room(self, n):
        """How many of the next n bytes to read at once: reads stop at the stall point."""
        if self.stall_after is not None and self.pos < self.stall_after:
            return min(n, self.stall_after - self.pos)
        return n

    def process(self, data):
        """The bytes to pass on, and whether the cut point is reached with them."""
        if self.stall_after is not None and self.pos == self.stall_after and data:
            time.sleep(self.stall_seconds)
            self.stall_after = None
        start = self.pos
        cut = False
        if self.cut_after is not None and start + len(data) >= self.cut_after:
            data = data[: self.cut_after - start]
            cut = True
        if self.flip_offset is not None and start <= self.flip_offset < start + len(data):
            data = bytearray(data)
            data[self.flip_offset - start] ^= 0xFF
            self.flipped = True
        self.pos = start + len(data)
        return data, cut


def relay_body(reader, framing, send, tap):
    """Copies one body from reader to send (a function taking bytes), keeping its framing
    byte-exact; the tap sees the payload. Returns the payload size. Raises Cut at the tap's cut
    point (after sending the bytes before it), Closed when the reader ends early; a failing send
    raises OSError."""

    def payload(n):
        while n > 0:
            data = reader.read_some(tap.room(n))
            n -= len(data)
            out, cut = tap.process(data)
            if out:
                send(out)
            if cut:
                raise Cut()

    if tap.cut_after == 0:
        raise Cut()
    if framing is None:
        return 0
    if framing[0] == "length":
        payload(framing[1])
    elif framing[0] == "chunked":
        while True:
            size_line = reader.readline()
            size = int(size_line.split(b";")[0].strip(), 16)
            send(size_line)
            if size == 0:
                # Trailer fields up to the empty line.
                while True:
                    line = reader.readline()
                    send(line)
                    if line in (b"\r\n", b"\n"):
                        break
                break
            payload(size)
            send(reader.readline())  # the CRLF after the chunk data
    elif framing[0] == "close":
        try:
            while True:
                data = reader.read_some(tap.room(PIECE))
                out, cut = tap.process(data)
                if out:
                    send(out)
                if cut:
                    raise Cut()
        except Closed:
            pass
    return tap.pos


class Rule:
    ACTIONS = ("status", "cut_request", "cut_response", "flip_request_byte", "flip_response_byte",
               "stall_request", "stall_response", "delay")

    def __init__(self, spec):
        if not isinstance(spec, dict):
            raise ValueError("a rule is a JSON object")
        self.spec = spec
        self.method = spec.get("method")
        self.regex = re.compile(spec["path_regex"]) if spec.get("path_regex") else None
        self.skip = int(spec.get("skip", 0))
        times = spec.get("times", 1)
        self.times = None if times is None else int(times)
        self.action = spec.get("action")
        if self.action not in self.ACTIONS:
            raise ValueError(f"unknown action {self.action!r}")
        self.count = 0
        self.applied = 0

    def matches(self, method, target):
        if self.method is not None and self.method != method:
            return False
        return self.regex is None or self.regex.search(target) is not None

    def describe(self):
        return dict(self.spec, count=self.count, applied=self.applied)


class State:
    def __init__(self):
        self.lock = threading.Lock()
        # Signalled when a request's entry is complete, so a log read waits for the counts of
        # requests whose last byte the client may already hold.
        self.finished = threading.Condition(self.lock)
        self.rules = []
        self.log = []
        self.open_entries = 0

    def set_rules(self, specs):
        rules = [Rule(s) for s in specs]
        with self.lock:
            self.rules = rules

    def pick(self, method, target):
        """The rule to apply to this request, or None; counts the request in every rule that
        matches it."""
        chosen = None
        with self.lock:
            for rule in self.rules:
                if not rule.matches(method, target):
                    continue
                n = rule.count
                rule.count += 1
                if chosen is None and n >= rule.skip and (rule.times is None or n < rule.skip + rule.times):
                    chosen = rule
                    rule.applied += 1
        return chosen

    def new_entry(self, method, target, fault):
        entry = {"method": method, "path": target, "status": None, "request_bytes": 0,
                 "response_bytes": 0, "fault": fault, "error": None}
        with self.lock:
            if len(self.log) < MAX_LOG:
                self.log.append(entry)
            self.open_entries += 1
        return entry

    def finish_entry(self):
        with self.lock:
            self.open_entries -= 1
            self.finished.notify_all()

    def log_copy(self, wait_seconds=2.0):
        """The log, after the requests in flight have finished (or wait_seconds passed: a
        stalled request must not hold the log up for long)."""
        with self.lock:
            self.finished.wait_for(lambda: self.open_entries == 0, timeout=wait_seconds)
            return [dict(e) for e in self.log]

    def clear_log(self):
        with self.lock:
            self.log = []


def close_socket(sock, reset=False):
    if sock is None:
        return
    try:
        if reset:
            # Linger 0: close() sends a RST at once.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


def status_line_code(start):
    parts = start.split(None, 2)
    try:
        return int(parts[1])
    except (IndexError, ValueError):
        raise Closed(f"bad status line {start[:80]!r}")


class Connection:
    """One client connection and its upstream connection, served by one thread."""

    def __init__(self, server, client):
        self.server = server
        self.state = server.state
        self.client = client
        self.creader = Reader(client)
        self.up = None
        self.ureader = None

    # -- helpers --

    def send_client(self, data):
        self.client.sendall(data)

    def send_up(self, data):
        self.up.sendall(data)

    def drop_upstream(self, reset=False):
        close_socket(self.up, reset)
        self.up = None
        self.ureader = None

    def upstream_ready(self):
        """Connects to the upstream unless the kept-alive connection is still good."""
        if self.up is not None:
            # An idle connection the upstream has closed reads as EOF (or a reset) right away.
            readable, _, _ = select.select([self.up], [], [], 0)
            if readable and not self.ureader.has_buffered():
                try:
                    stale = self.up.recv(1, socket.MSG_PEEK) == b""
                except OSError:
                    stale = True
                if stale:
                    self.drop_upstream()
        if self.up is None:
            self.up = socket.create_connection(self.server.upstream, timeout=self.server.connect_timeout)
            self.up.settimeout(None)
            self.up.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.ureader = Reader(self.up)

    def answer(self, status, body, headers=(), head_only=False, close=False):
        """Sends a response of our own; returns the body size sent."""
        reason = {200: "OK", 204: "No Content", 400: "Bad Request", 404: "Not Found",
                  500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
        if isinstance(body, str):
            body = body.encode()
        names = {k.lower() for k, _ in headers}
        lines = [f"HTTP/1.1 {status} {reason.get(status, 'Fault')}\r\n"]
        lines += [f"{k}: {v}\r\n" for k, v in headers]
        if "content-length" not in names:
            lines.append(f"Content-Length: {len(body)}\r\n")
        if body and "content-type" not in names:
            lines.append("Content-Type: application/xml\r\n" if body.lstrip().startswith(b"<")
                         else "Content-Type: text/plain\r\n")
        if close and "connection" not in names:
            lines.append("Connection: close\r\n")
        lines.append("\r\n")
        data = "".join(lines).encode("latin-1")
        if not head_only:
            data += body
        self.send_client(data)
        return 0 if head_only else len(body)

    def drain(self, framing):
        """Reads and discards a request body."""
        return relay_body(self.creader, framing, lambda _: None, Tap())

    # -- the loop --

    def run(self):
        try:
            self.client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while True:
                try:
                    head = read_head(self.creader)
                except (Closed, OSError):
                    return
                if not self.serve(head):
                    return
        except Exception as e:  # a thread must not die silently: say why on stderr
            print(f"fault_proxy: connection error: {e!r}", file=sys.stderr, flush=True)
        finally:
            self.drop_upstream()
            close_socket(self.client)

    def serve(self, head):
        """Serves one request; returns whether the client connection stays open."""
        try:
            method, target, version = head.start.decode("latin-1").split()
        except ValueError:
            self.answer(400, "bad request line\n", close=True)
            return False
        try:
            framing = head.body_framing()
        except ValueError:
            self.answer(400, "bad Content-Length\n", close=True)
            return False
        client_close = "close" in head.tokens("connection") or (
            version == "HTTP/1.0" and "keep-alive" not in head.tokens("connection"))

        if target.startswith(CONTROL_PREFIX):
            return self.control(method, target, head, framing) and not client_close

        rule = self.state.pick(method, target)
        action = rule.action if rule else None
        entry = self.state.new_entry(method, target, action)
        try:
            return self.serve_faulted(method, head, framing, client_close, rule, entry)
        finally:
            self.state.finish_entry()

    def serve_faulted(self, method, head, framing, client_close, rule, entry):
        """Serves a request that is not for the control API, applying rule (or None)."""
        action = rule.action if rule else None
        spec = rule.spec if rule else {}
        reset = bool(spec.get("reset", False))
        expect = "100-continue" in head.tokens("expect")

        if action == "status":
            status = int(spec.get("status", 503))
            headers = list((spec.get("headers") or {}).items())
            close = bool(spec.get("close", False)) or client_close
            if expect and framing is not None:
                # The client waits for 100 Continue before sending the body: answer at once and
                # close, as it may or may not send the body now.
                entry["response_bytes"] = self.answer(status, spec.get("body", ""), headers,
                                                      method == "HEAD", close=True)
                entry["status"] = status
                self.linger_close()
                return False
            entry["request_bytes"] = self.drain(framing)
            entry["response_bytes"] = self.answer(status, spec.get("body", ""), headers,
                                                  method == "HEAD", close=close)
            entry["status"] = status
            return not close

        if action == "delay":
            time.sleep(float(spec.get("seconds", 1)))

        try:
            self.upstream_ready()
        except OSError as e:
            entry["error"] = f"upstream connect: {e}"
            if not expect:
                entry["request_bytes"] = self.drain(framing)
            entry["status"] = 502
            self.answer(502, f"fault_proxy: upstream: {e}\n", close=True)
            if expect:
                self.linger_close()
            return False

        def tap(side):
            return Tap(
                flip_offset=int(spec.get("offset", 0)) if action == f"flip_{side}_byte" else None,
                cut_after=int(spec.get("after_bytes", 0)) if action == f"cut_{side}" else None,
                stall_after=int(spec.get("after_bytes", 0)) if action == f"stall_{side}" else None,
                stall_seconds=float(spec.get("seconds", 5)))

        req_tap, resp_tap = tap("request"), tap("response")
        try:
            return self.forward(method, head, framing, expect, client_close, req_tap, resp_tap, entry)
        except Cut:
            entry["request_bytes"] = req_tap.pos
            entry["response_bytes"] = resp_tap.pos
            if action == "cut_request":
                self.drop_upstream(reset)
            else:
                self.drop_upstream()
            if reset:
                # close_socket in run() would shut down gracefully first: reset right here.
                close_socket(self.client, reset=True)
            return False
        except (Closed, OSError) as e:
            entry["request_bytes"] = req_tap.pos
            entry["response_bytes"] = resp_tap.pos
            entry["error"] = str(e) or type(e).__name__
            return False

    def forward(self, method, head, framing, expect, client_close, req_tap, resp_tap, entry):
        self.send_up(head.raw())
        resp = None
        if expect and framing is not None:
            # The client sends the body after a 100 Continue; the upstream may answer with a final
            # status instead, or ignore Expect and wait for the body (then the client sends it
            # after its own timeout): whichever comes first.
            while resp is None:
                if self.creader.has_buffered() or self.ureader.has_buffered():
                    ready = [self.up] if self.ureader.has_buffered() else [self.client]
                else:
                    ready, _, _ = select.select([self.up, self.client], [], [])
                if self.up not in ready:
                    break
                r = read_head(self.ureader)
                code = status_line_code(r.start)
                if code == 100 or (100 < code < 200 and code != 101):
                    self.send_client(r.raw())
                    if code == 100:
                        break
                else:
                    resp = r
        if resp is None:
            upload_failed = None
            try:
                entry["request_bytes"] = relay_body(self.creader, framing, self.send_up, req_tap)
            except OSError as e:
                # The upstream stopped reading (an early error answer, then close): relay the
                # answer if it sent one.
                upload_failed = e
            try:
                resp = read_head(self.ureader)
                while 100 <= status_line_code(resp.start) < 200 and status_line_code(resp.start) != 101:
                    self.send_client(resp.raw())
                    resp = read_head(self.ureader)
            except Closed:
                if upload_failed:
                    raise upload_failed
                raise
            if upload_failed:
                client_close = True
        else:
            # Final answer before the body: the client may still send it; don't reuse the
            # connection.
            client_close = True

        code = status_line_code(resp.start)
        entry["status"] = code
        upstream_close = "close" in resp.tokens("connection") or (
            resp.start.startswith(b"HTTP/1.0") and "keep-alive" not in resp.tokens("connection"))
        if method == "HEAD" or code in (204, 304):
            body_framing = None
        else:
            body_framing = resp.body_framing() or ("close",)
        if body_framing == ("close",):
            upstream_close = True
        self.send_client(resp.raw())
        entry["response_bytes"] = relay_body(self.ureader, body_framing, self.send_client, resp_tap)
        if upstream_close:
            self.drop_upstream()
        return not (client_close or upstream_close)

    def linger_close(self):
        """Half-closes and reads what the client still sends for a moment, so the answer isn't
        lost to a reset caused by unread data."""
        try:
            self.client.shutdown(socket.SHUT_WR)
            self.client.settimeout(2)
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline and self.client.recv(PIECE):
                pass
        except OSError:
            pass

    # -- the control API --

    def control(self, method, target, head, framing):
        path = urllib.parse.urlsplit(target).path
        try:
            body = b"".join(self._collect(framing))
        except ValueError:
            return False
        try:
            if path == CONTROL_PREFIX + "/rules":
                if method == "POST" or method == "PUT":
                    specs = json.loads(body or b"[]")
                    if not isinstance(specs, list):
                        raise ValueError("expected a JSON list of rules")
                    self.state.set_rules(specs)
                    return self.reply_json(200, {"rules": len(specs)})
                if method == "DELETE":
                    self.state.set_rules([])
                    return self.reply_json(200, {"rules": 0})
                if method == "GET":
                    with self.state.lock:
                        rules = [r.describe() for r in self.state.rules]
                    return self.reply_json(200, rules)
            elif path == CONTROL_PREFIX + "/log":
                if method == "GET":
                    return self.reply_json(200, self.state.log_copy())
                if method == "DELETE":
                    self.state.clear_log()
                    return self.reply_json(200, [])
            return self.reply_json(404, {"error": f"no {method} {path}"})
        except (ValueError, KeyError, TypeError, re.error) as e:
            return self.reply_json(400, {"error": str(e)})

    def _collect(self, framing):
        parts = []
        relay_body(self.creader, framing, parts.append, Tap())
        return parts

    def reply_json(self, status, obj):
        self.answer(status, json.dumps(obj) + "\n", [("Content-Type", "application/json")])
        return True


class Server:
    def __init__(self, upstream, listen):
        u = urllib.parse.urlsplit(upstream)
        if u.scheme != "http" or not u.hostname:
            raise SystemExit(f"fault_proxy: --upstream must be http://HOST:PORT, not {upstream}")
        self.upstream = (u.hostname, u.port or 80)
        self.connect_timeout = 10
        self.state = State()
        host, _, port = listen.rpartition(":")
        self.sock = socket.socket(socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host.strip("[]") or "127.0.0.1", int(port or 0)))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]

    def serve_forever(self):
        while True:
            client, _ = self.sock.accept()
            conn = Connection(self, client)
            threading.Thread(target=conn.run, daemon=True).start()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--upstream", required=True, help="http://HOST:PORT")
    p.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT (port 0: any free one)")
    p.add_argument("--port-file", help="write the port here once listening")
    args = p.parse_args()
    server = Server(args.upstream, args.listen)
    if args.port_file:
        # Written whole, then renamed: a waiting reader never sees it half-written.
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{server.port}\n")
        os.replace(tmp, args.port_file)
    print(f"PORT {server.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
