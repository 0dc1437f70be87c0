# Helpers shared by the server scripts (sourced, not run): pid files, port owners, waiting, test
# certificates.
# shellcheck shell=bash

source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

# Every server keeps all of its state under one directory below this one.
# shellcheck disable=SC2034 # used by the scripts that source this file
SERVERS_DIR=${GS_SERVERS_DIR:-/tmp/glance-store-servers}

say() { echo "$SCRIPT_NAME: $*" >&2; }
die() {
  say "error: $*"
  exit 1
}

# Seconds since START (from `date +%s.%N`), with one decimal.
elapsed() { awk -v s="$1" -v n="$(date +%s.%N)" 'BEGIN {printf "%.1f", n - s}'; }

# Whether PID runs. An exited daemon stays a zombie until init reaps it, which takes up to 2 s
# on these machines: a zombie counts as gone.
alive() {
  local state
  [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null || return 1
  state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [ "$state" != Z ]
}

# The command line of PID, spaces between the arguments.
cmdline() { tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null || true; }

# Starts a daemon in its own session (so a Ctrl-C or a closed terminal of the caller doesn't
# reach it), with its output in LOG, and records its pid: spawn PIDFILE LOG cmd [args…]
spawn() {
  local pidfile=$1 log=$2
  shift 2
  # Not a process-group leader here (no job control), so setsid execs in place and $! is the
  # daemon itself.
  setsid "$@" </dev/null >>"$log" 2>&1 &
  echo $! >"$pidfile"
}

# TERM, then KILL after a few seconds: stop_pids PID…
stop_pids() {
  local pid left
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 100); do
    left=()
    for pid in "$@"; do alive "$pid" && left+=("$pid"); done
    [ ${#left[@]} -eq 0 ] && return 0
    sleep 0.1
  done
  say "killing ${left[*]} (still alive 10 s after SIGTERM)"
  kill -KILL "${left[@]}" 2>/dev/null || true
}

# Stops the daemons named by the pid files, all at once, and removes the files. A pid whose
# command line lacks MARKER is not ours (a pid reused since): stop_pidfiles MARKER FILE…
stop_pidfiles() {
  local marker=$1 f pid pids=()
  shift
  for f in "$@"; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    alive "$pid" && [[ $(cmdline "$pid") == *"$marker"* ]] && pids+=("$pid")
  done
  [ ${#pids[@]} -eq 0 ] || stop_pids "${pids[@]}"
  rm -f "$@"
}

# Pids of processes named NAME_REGEX (matched against /proc/PID/comm) whose command line
# contains TEXT: the daemons of an earlier run whose pid files are gone.
pids_by_cmdline() {
  local regex=$1 text=$2 dir comm
  for dir in /proc/[0-9]*; do
    [ "${dir#/proc/}" = "$$" ] && continue
    { read -r comm <"$dir/comm"; } 2>/dev/null || continue # it may have exited since
    [[ $comm =~ ^($regex)$ ]] || continue
    [[ $(cmdline "${dir#/proc/}") == *"$text"* ]] && echo "${dir#/proc/}"
  done
  return 0
}

# Pids listening on TCP port PORT (from /proc, so it needs neither ss nor lsof).
port_listeners() {
  local hex inode
  hex=$(printf '%04X' "$1")
  awk -v p=":$hex" 'NR > 1 && $4 == "0A" && substr($2, length($2) - 4) == p {print $10}' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null | sort -u | while read -r inode; do
    { find /proc/[0-9]*/fd -maxdepth 1 -lname "socket:\[$inode\]" 2>/dev/null || true; } |
      cut -d/ -f3
  done | sort -u
}

# Fails with the owner's command line if one of the ports is taken.
require_free_ports() {
  local port pid
  for port in "$@"; do
    for pid in $(port_listeners "$port"); do
      die "port $port is taken by pid $pid: $(cmdline "$pid")"
    done
  done
}

# Frees the ports from the daemons of an earlier run (of this script, perhaps under another
# GS_SERVERS_DIR): a listener whose command line, or whose parent's (nginx workers show no
# config), matches the glob PATTERN is stopped; a port taken by anything else is an error:
# free_ports PATTERN PORT…
free_ports() {
  local pattern=$1 port pid p pids
  shift
  for port in "$@"; do
    pids=()
    for pid in $(port_listeners "$port"); do
      for p in "$pid" "$(awk '{print $4}' "/proc/$pid/stat" 2>/dev/null || echo 0)"; do
        # shellcheck disable=SC2053 # PATTERN is a glob
        [[ $(cmdline "$p") == $pattern ]] && pids+=("$p")
      done
    done
    if [ ${#pids[@]} -gt 0 ]; then
      mapfile -t pids < <(printf '%s\n' "${pids[@]}" | sort -u)
      say "stopping what holds port $port: $(cmdline "${pids[0]}")"
      stop_pids "${pids[@]}"
    fi
  done
  require_free_ports "$@"
}

# A test CA and a server certificate for 127.0.0.1 and localhost (subjectAltName IP and DNS)
# signed by it, in DIR: ca.crt, ca.key, server.crt, server.key. They survive restarts, so a CA
# path a test has read stays valid; they are made anew when missing, not matching or expiring
# within a day. LABEL goes into the CA's name: make_test_certs DIR LABEL
make_test_certs() (
  mkdir -p "$1"
  cd "$1" || exit 1
  if [ -f ca.crt ] && [ -f server.crt ] && [ -f server.key ] &&
    openssl verify -CAfile ca.crt server.crt >/dev/null 2>&1 &&
    openssl x509 -checkend 86400 -noout -in server.crt >/dev/null 2>&1; then
    return 0
  fi
  # Our own openssl config: the machine's /etc/ssl/openssl.cnf doesn't decide the extensions.
  cat >openssl.cnf <<EOF
[req]
distinguished_name = dn
prompt = no
[dn]
CN = glance-store test CA ($2)
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[v3_server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
EOF
  # P-256 keys: made in milliseconds, and every TLS stack in use takes them.
  local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
  openssl req -config openssl.cnf -x509 "${ec[@]}" -keyout ca.key -out ca.crt -days 3650 \
    -extensions v3_ca 2>/dev/null
  openssl req -config openssl.cnf -new "${ec[@]}" -keyout server.key -out server.csr \
    -subj /CN=127.0.0.1 2>/dev/null
  openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -set_serial "0x$(openssl rand -hex 8)" \
    -days 825 -extfile openssl.cnf -extensions v3_server -out server.crt 2>/dev/null
  chmod 600 ca.key server.key
  rm -f server.csr
  openssl verify -CAfile ca.crt server.crt >/dev/null || die "the new server certificate fails to verify"
)

# Retries a command until it succeeds. Fails at once with the log's tail when a daemon named by
# a pid file RUN/NAME.pid has exited, after TIMEOUT seconds with every log's tail (LOGS/NAME.log):
# wait_until TIMEOUT WHAT RUN LOGS cmd [args…]
wait_until() {
  local timeout=$1 what=$2 run=$3 logs=$4 deadline pidfile name
  shift 4
  deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    for pidfile in "$run"/*.pid; do
      name=$(basename "$pidfile" .pid)
      alive "$(cat "$pidfile")" && continue
      say "error: $what: $name exited"
      tail_logs "$logs/$name.log"
      exit 1
    done
    if [ $SECONDS -ge $deadline ]; then
      say "error: $what: not ready after $timeout s"
      tail_logs "$logs"/*.log
      exit 1
    fi
    sleep 0.2
  done
}

tail_logs() {
  local log
  for log in "$@"; do
    [ -f "$log" ] && { echo "--- tail of $log" >&2; tail -n 20 "$log" >&2; }
  done
  return 0
}

# Whether a directory's file system keeps user xattrs (Swift's object server needs them).
has_user_xattrs() {
  local probe="$1/.xattr-probe" ok=0
  touch "$probe"
  setfattr -n user.test -v 1 "$probe" 2>/dev/null || ok=1
  rm -f "$probe"
  return $ok
}
