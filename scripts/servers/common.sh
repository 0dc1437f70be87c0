# Helpers shared by the server scripts (sourced, not run): pid files, port owners, waiting.
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
    read -r comm <"$dir/comm" 2>/dev/null || continue
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
