#!/usr/bin/python3
"""Self-test of fault_proxy.py: a throwaway upstream (http.server, in this process), the proxy in a
subprocess, and each action checked through it. Run: /usr/bin/python3 tests/tools/fault_proxy_test.py
"""
import hashlib
import http.client
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
import unittest

PROXY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fault_proxy.py")


def pattern(n, seed=0):
    """n deterministic bytes, not all alike (so a flipped or shifted byte shows)."""
    block = bytes((i * 7 + seed) % 251 for i in range(65536))
    return (block * (n // len(block) + 1))[:n]


class Upstream(http.server.BaseHTTPRequestHandler):
    """GET /bytes/N (Content-Length), /chunked/N (chunked), /close/N (until close); HEAD likewise;
    PUT/POST: reads the body (Content-Length or chunked) and answers its size and MD5 as JSON."""
    protocol_version = "HTTP/1.1"
    received = []  # (path, bytes read) of every upload, complete or not

    def log_message(self, *args):
        pass

    def _size(self):
        return int(self.path.rsplit("/", 1)[1].split("?")[0])

    def do_HEAD(self):
        self.send_response(200)
        self.send_header("Content-Length", str(self._size()))
        self.end_headers()

    def do_GET(self):
        n = self._size()
        data = pattern(n)
        self.send_response(200)
        if self.path.startswith("/chunked/"):
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, n, 10000):
                piece = data[i:i + 10000]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        elif self.path.startswith("/close/"):
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(n))
            self.end_headers()
            for i in range(0, n, 1 << 20):
                self.wfile.write(data[i:i + (1 << 20)])

    def do_PUT(self):
        md5 = hashlib.md5()
        size = 0
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                n = int(self.rfile.readline().split(b";")[0], 16)
                if n == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                piece = self.rfile.read(n)
                md5.update(piece)
                size += len(piece)
                self.rfile.readline()
        else:
            left = int(self.headers.get("Content-Length", 0))
            while left:
                piece = self.rfile.read(min(left, 1 << 20))
                if not piece:
                    break
                md5.update(piece)
                size += len(piece)
                left -= len(piece)
            if left:
                Upstream.received.append((self.path, size))
                self.close_connection = True
                return
        Upstream.received.append((self.path, size))
        body = json.dumps({"size": size, "md5": md5.hexdigest(), "host": self.headers.get("Host"),
                           "peer": self.client_address[1], "path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_PUT


class FaultProxyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
        cls.upstream.daemon_threads = True
        # The cuts break the upstream's connections on purpose: no tracebacks for those.
        cls.upstream.handle_error = lambda request, address: None
        threading.Thread(target=cls.upstream.serve_forever, daemon=True).start()
        up_port = cls.upstream.server_address[1]
        cls.proc = subprocess.Popen(
            [sys.executable, PROXY, "--upstream", f"http://127.0.0.1:{up_port}"],
            stdout=subprocess.PIPE, text=True)
        line = cls.proc.stdout.readline()
        assert line.startswith("PORT "), line
        cls.port = int(line.split()[1])

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        cls.proc.wait(5)
        cls.proc.stdout.close()
        cls.upstream.shutdown()
        cls.upstream.server_close()

    def setUp(self):
        self.control("DELETE", "/__fault__/rules")
        self.control("DELETE", "/__fault__/log")
        Upstream.received.clear()

    # -- helpers --

    def conn(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)

    def control(self, method, path, obj=None):
        c = self.conn()
        body = json.dumps(obj) if obj is not None else None
        c.request(method, path, body=body)
        r = c.getresponse()
        data = json.loads(r.read())
        self.assertEqual(r.status, 200, data)
        c.close()
        return data

    def rules(self, *rules):
        self.control("POST", "/__fault__/rules", list(rules))

    def log(self):
        return self.control("GET", "/__fault__/log")

    def put(self, c, path, body, headers=None):
        c.request("PUT", path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, r.read()

    def raw(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=20)
        return s

    @staticmethod
    def read_all(s):
        """Everything until EOF (or a reset, which ends it too)."""
        parts = []
        try:
            while True:
                d = s.recv(1 << 20)
                if not d:
                    break
                parts.append(d)
        except ConnectionResetError:
            pass
        return b"".join(parts)

    # -- pass-through --

    def test_passthrough_keepalive_host(self):
        c = self.conn()
        peers = set()
        for i in range(3):
            body = pattern(1000 + i, seed=i)
            status, data = self.put(c, f"/obj/{i}?x=1&y=%2F", body, {"Host": "bucket.example:4443"})
            self.assertEqual(status, 200)
            reply = json.loads(data)
            self.assertEqual(reply["md5"], hashlib.md5(body).hexdigest())
            self.assertEqual(reply["host"], "bucket.example:4443")  # not rewritten
            self.assertEqual(reply["path"], f"/obj/{i}?x=1&y=%2F")
            peers.add(reply["peer"])
            c.request("GET", "/bytes/5000")
            r = c.getresponse()
            self.assertEqual(r.read(), pattern(5000))
        # One upstream connection served all of them: keep-alive on both sides.
        self.assertEqual(len(peers), 1)
        c.request("HEAD", "/bytes/777")
        r = c.getresponse()
        self.assertEqual((r.status, r.getheader("Content-Length"), r.read()), (200, "777", b""))
        c.request("GET", "/bytes/10")
        self.assertEqual(c.getresponse().read(), pattern(10))
        c.close()

    def test_chunked_both_ways(self):
        c = self.conn()
        c.request("GET", "/chunked/123457")
        r = c.getresponse()
        self.assertEqual(r.getheader("Transfer-Encoding"), "chunked")
        self.assertEqual(r.read(), pattern(123457))
        body = pattern(300000, seed=3)
        pieces = (body[i:i + 70000] for i in range(0, len(body), 70000))
        c.request("PUT", "/chunked-up", body=pieces, encode_chunked=True)
        reply = json.loads(c.getresponse().read())
        self.assertEqual((reply["size"], reply["md5"]), (len(body), hashlib.md5(body).hexdigest()))
        c.close()

    def test_body_until_close(self):
        c = self.conn()
        c.request("GET", "/close/40000")
        self.assertEqual(c.getresponse().read(), pattern(40000))
        c.close()

    def test_expect_100_continue(self):
        s = self.raw()
        body = pattern(20000)
        s.sendall(b"PUT /e HTTP/1.1\r\nHost: h\r\nContent-Length: 20000\r\n"
                  b"Expect: 100-continue\r\n\r\n")
        self.assertTrue(s.recv(100).startswith(b"HTTP/1.1 100"))
        s.sendall(body)
        resp = http.client.HTTPResponse(s)
        resp.begin()
        self.assertEqual(json.loads(resp.read())["md5"], hashlib.md5(body).hexdigest())
        s.close()

    def test_large_body_streams(self):
        n = 50 * 1024 * 1024
        body = pattern(n, seed=9)
        c = self.conn()
        t = time.monotonic()
        status, data = self.put(c, "/big", body)
        reply = json.loads(data)
        self.assertEqual((status, reply["size"]), (200, n))
        self.assertEqual(reply["md5"], hashlib.md5(body).hexdigest())
        c.request("GET", f"/bytes/{n}")
        got = c.getresponse().read()
        self.assertTrue(got == pattern(n))
        elapsed = time.monotonic() - t
        print(f"\n  50 MiB up and down through the proxy: {elapsed:.2f} s", file=sys.stderr)
        entry = [e for e in self.log() if e["path"] == "/big"][0]
        self.assertEqual((entry["request_bytes"], entry["status"]), (n, 200))
        c.close()

    # -- actions --

    def test_status_drains_and_keeps_alive(self):
        xml = "<?xml version='1.0'?><Error><Code>SlowDown</Code></Error>"
        self.rules({"method": "PUT", "path_regex": "^/s3/", "action": "status", "status": 503,
                    "body": xml, "headers": {"Retry-After": "1"}})
        c = self.conn()
        status, data = self.put(c, "/s3/a", pattern(200000))
        self.assertEqual((status, data.decode()), (503, xml))
        # Same connection, the rule is used up: through to the upstream.
        status, data = self.put(c, "/s3/a", pattern(100))
        self.assertEqual(status, 200)
        c.close()
        log = self.log()
        self.assertEqual([(e["status"], e["fault"]) for e in log], [(503, "status"), (200, None)])
        self.assertEqual(log[0]["request_bytes"], 200000)
        self.assertEqual(log[0]["response_bytes"], len(xml))
        self.assertEqual(Upstream.received, [("/s3/a", 100)])

    def test_status_with_expect_closes(self):
        self.rules({"action": "status", "status": 500, "body": "x"})
        s = self.raw()
        s.sendall(b"PUT /e HTTP/1.1\r\nHost: h\r\nContent-Length: 5000000\r\n"
                  b"Expect: 100-continue\r\n\r\n")
        data = self.read_all(s)
        self.assertTrue(data.startswith(b"HTTP/1.1 500"), data)
        self.assertIn(b"Connection: close", data)
        self.assertTrue(data.endswith(b"\r\n\r\nx"))
        s.close()

    def test_cut_request(self):
        self.rules({"method": "PUT", "action": "cut_request", "after_bytes": 1000})
        s = self.raw()
        n = 4 * 1024 * 1024
        s.sendall(b"PUT /cut HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n" % n)
        with self.assertRaises(OSError):
            # The proxy closes while we send: a reset (or a broken pipe) ends the upload, and
            # no answer comes.
            s.sendall(pattern(n))
            if self.read_all(s):
                raise AssertionError("got an answer")
            raise ConnectionResetError("EOF")
        s.close()
        deadline = time.monotonic() + 5
        while not Upstream.received and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertEqual(Upstream.received, [("/cut", 1000)])
        entry = self.log()[0]
        self.assertEqual((entry["fault"], entry["request_bytes"], entry["status"]),
                         ("cut_request", 1000, None))

    def test_cut_response(self):
        for path in ("/bytes/300000", "/chunked/300000"):
            self.rules({"path_regex": r"^/(bytes|chunked)/", "action": "cut_response",
                        "after_bytes": 123456})
            s = self.raw()
            s.sendall(b"GET %s HTTP/1.1\r\nHost: h\r\n\r\n" % path.encode())
            data = self.read_all(s)
            s.close()
            head, _, body = data.partition(b"\r\n\r\n")
            if path.startswith("/bytes"):
                self.assertIn(b"Content-Length: 300000", head)
                self.assertEqual(body, pattern(123456))
            else:
                # Decode what came: it ends inside a chunk, after 123456 payload bytes.
                payload = b""
                while body:
                    size_line, _, body = body.partition(b"\r\n")
                    size = int(size_line, 16)
                    payload += body[:size]
                    body = body[size + 2:]
                self.assertEqual(payload, pattern(123456))
        log = self.log()
        self.assertEqual([(e["status"], e["fault"], e["response_bytes"]) for e in log],
                         [(200, "cut_response", 123456)] * 2)

    def test_flip_request_byte(self):
        self.rules({"action": "flip_request_byte", "offset": 70000})
        body = pattern(100000)
        flipped = bytearray(body)
        flipped[70000] ^= 0xFF
        c = self.conn()
        _, data = self.put(c, "/f", body)
        self.assertEqual(json.loads(data)["md5"], hashlib.md5(flipped).hexdigest())
        # Chunked upload: the offset counts payload bytes across the chunks.
        self.rules({"action": "flip_request_byte", "offset": 70000})
        c.request("PUT", "/f", body=(body[i:i + 30000] for i in range(0, len(body), 30000)),
                  encode_chunked=True)
        self.assertEqual(json.loads(c.getresponse().read())["md5"], hashlib.md5(flipped).hexdigest())
        _, data = self.put(c, "/f", body)
        self.assertEqual(json.loads(data)["md5"], hashlib.md5(body).hexdigest())
        c.close()

    def test_flip_response_byte(self):
        for path in ("/bytes/300000", "/chunked/300000"):
            self.rules({"path_regex": r"^/(bytes|chunked)/", "action": "flip_response_byte",
                        "offset": 200000})
            expected = bytearray(pattern(300000))
            expected[200000] ^= 0xFF
            c = self.conn()
            c.request("GET", path)
            response = c.getresponse()
            self.assertEqual(response.read(), bytes(expected), path)
            c.close()
        self.assertEqual([(e["status"], e["fault"], e["response_bytes"]) for e in self.log()],
                         [(200, "flip_response_byte", 300000)] * 2)

    def test_stall_response(self):
        self.rules({"path_regex": r"^/bytes/", "action": "stall_response", "after_bytes": 100000,
                    "seconds": 1.0})
        s = self.raw()
        s.sendall(b"GET /bytes/300000 HTTP/1.1\r\nHost: h\r\n\r\n")
        s.settimeout(0.5)
        got = b""
        try:
            while True:
                data = s.recv(65536)
                if not data:
                    break
                got += data
        except socket.timeout:
            pass
        head, _, body = got.partition(b"\r\n\r\n")
        self.assertEqual(body, pattern(100000), "the bytes before the stall point, then nothing")
        s.settimeout(5)
        while len(body) < 300000:
            data = s.recv(65536)
            self.assertTrue(data)
            body += data
        self.assertEqual(body, pattern(300000))
        s.close()

    def test_stall_request(self):
        self.rules({"action": "stall_request", "after_bytes": 50000, "seconds": 1.0})
        body = pattern(100000)
        c = self.conn()
        started = time.monotonic()
        _, data = self.put(c, "/f", body)
        self.assertGreaterEqual(time.monotonic() - started, 1.0)
        self.assertEqual(json.loads(data)["md5"], hashlib.md5(body).hexdigest())
        c.close()

    def test_skip_times_and_counting(self):
        self.rules({"method": "GET", "path_regex": "^/bytes/", "skip": 1, "times": 2,
                    "action": "status", "status": 503},
                   {"method": "GET", "action": "status", "status": 404, "times": None, "skip": 4})
        c = self.conn()
        statuses = []
        for _ in range(6):
            c.request("GET", "/bytes/10")
            r = c.getresponse()
            r.read()
            statuses.append(r.status)
        c.request("PUT", "/other", body=b"x")  # matches neither rule
        statuses.append(c.getresponse().status)
        c.close()
        self.assertEqual(statuses, [200, 503, 503, 200, 404, 404, 200])
        rules = self.control("GET", "/__fault__/rules")
        self.assertEqual([(r["count"], r["applied"]) for r in rules], [(6, 2), (6, 2)])
        log = self.log()
        self.assertEqual([e["fault"] for e in log], [None, "status", "status", None, "status", "status", None])
        self.assertEqual(log[0], {"method": "GET", "path": "/bytes/10", "status": 200,
                                  "request_bytes": 0, "response_bytes": 10, "fault": None,
                                  "error": None})

    def test_delay_and_threads(self):
        self.rules({"path_regex": "slow", "action": "delay", "seconds": 0.5, "times": 3})
        t = time.monotonic()
        results = []

        def get(path):
            c = self.conn()
            c.request("GET", path)
            results.append(len(c.getresponse().read()))
            c.close()

        threads = [threading.Thread(target=get, args=(f"/bytes/{100 + i}?slow",)) for i in range(3)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        elapsed = time.monotonic() - t
        # Three delayed requests at once: concurrent, not one after the other.
        self.assertTrue(0.5 <= elapsed < 1.2, elapsed)
        self.assertEqual(sorted(results), [100, 101, 102])

    def test_bad_rules_rejected(self):
        c = self.conn()
        c.request("POST", "/__fault__/rules", body=json.dumps([{"action": "explode"}]))
        r = c.getresponse()
        self.assertEqual(r.status, 400)
        r.read()
        c.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
