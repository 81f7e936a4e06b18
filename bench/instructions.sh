#!/usr/bin/env bash
# User-space instructions per proxied request, counted exactly by valgrind (callgrind), for buoy,
# HAProxy (tcp mode) and nginx stream, on loopback only.
#
#   BUOY_BIN=./buoy bench/instructions.sh [--requests N] [--close M] [--conns C] [--keep]
#
# Why: on this 2-core machine every proxy saturates both cores under wrk and req/s moves with the
# noise of the neighbours; instruction counts do not. What it does NOT show: the kernel's work,
# which is ~97% of a proxy's CPU per request here (recv/send, TCP, epoll) and the same for every
# proxy. So this measures how lean each proxy's own code is, not req/s.
#
# Each proxy runs alone under `valgrind --tool=callgrind`, one thread/worker (buoy `workers: 1`,
# HAProxy `nbthread 1`, nginx one worker with `master_process off`), in front of an origin nginx
# http (tiny 200 body, keep-alive; not under valgrind). Three runs per proxy, each with the same
# warm-up (keep-alive and close requests): nothing more, N keep-alive requests (over C persistent
# connections, C in flight at a time), or M `Connection: close` requests (C new connections at a
# time). Ir per request = (Ir of the run with load - Ir of the warm-up-only run) / requests, which
# removes start-up, warm-up and shut-down. The top functions are that difference per function
# (callgrind_annotate's exclusive Ir). Every step is bounded by a timeout; the EXIT trap stops
# every process started here.
set -u -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
PY=/usr/bin/python3
BUOY_BIN=${BUOY_BIN:-$HERE/../buoy}
REQS=20000
CLOSE_REQS=3000
CONNS=10
WARM_KA=500
WARM_CLOSE=100
TOP=5
KEEP=0
PROXIES="buoy haproxy nginx"

usage() { sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
	case "$1" in
	--requests) REQS=$2; shift ;;
	--close) CLOSE_REQS=$2; shift ;;
	--conns) CONNS=$2; shift ;;
	--keep) KEEP=1 ;;
	-h|--help) usage 0 ;;
	*) echo "instructions: unknown option $1" >&2; usage 2 >&2 ;;
	esac
	shift
done

log() { printf 'instructions: %s\n' "$*" >&2; }

WORK=$(mktemp -d /tmp/buoy-instr.XXXXXX)
PIDS=()
cleanup() {
	trap - EXIT INT TERM
	local p
	for p in "${PIDS[@]}"; do kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null; done
	sleep 0.5
	for p in "${PIDS[@]}"; do kill -KILL -- "-$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	if [ $KEEP = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'log interrupted; exit 130' INT TERM

# start NAME CMD...: in its own session so that its children die with it; pid in PID.
start() {
	local name=$1; shift
	setsid "$@" >"$WORK/$name.log" 2>&1 </dev/null &
	PID=$!
	PIDS+=("$PID")
}

# stop PID: SIGTERM and wait (callgrind writes its file at exit, which takes a moment), then
# SIGKILL; the pid leaves PIDS so that cleanup never signals a recycled one.
stop() {
	local p=$1 q keep=()
	kill -TERM "$p" 2>/dev/null
	for _ in $(seq 1 300); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -KILL -- "-$p" 2>/dev/null
	wait "$p" 2>/dev/null
	for q in "${PIDS[@]}"; do [ "$q" = "$p" ] || keep+=("$q"); done
	PIDS=("${keep[@]}")
}

pick_ports() { # two free ports below the ephemeral range
	local base try
	for try in $(seq 0 40); do
		base=$((30000 + (($$ + try * 37) % 400) * 5))
		port_listening $base || port_listening $((base + 1)) || { echo $base; return 0; }
	done
	return 1
}

# ---------- preflight ----------
for tool in valgrind callgrind_annotate nginx haproxy setsid timeout; do
	command -v $tool >/dev/null || { log "missing $tool (make bench-instructions installs it)"; exit 1; }
done
[ -x "$PY" ] || { log "missing $PY"; exit 1; }
[ -x "$BUOY_BIN" ] || { log "no buoy binary at $BUOY_BIN"; exit 1; }
STREAM_MOD=/usr/lib/nginx/modules/ngx_stream_module.so
[ -e $STREAM_MOD ] || { log "missing $STREAM_MOD"; exit 1; }
BASE=$(pick_ports) || { log "no free ports"; exit 1; }
ORIGIN=$BASE PROXY=$((BASE + 1))

# ---------- configs ----------
mkdir -p "$WORK/origin/tmp" "$WORK/nginx"
{
	cat <<EOF
worker_processes 1;
daemon off;
pid $WORK/origin/nginx.pid;
error_log $WORK/origin/error.log warn;
events { worker_connections 1024; }
EOF
	origin_http_block "$WORK/origin" "$ORIGIN"
} >"$WORK/origin/nginx.conf"

cat >"$WORK/buoy.yaml" <<EOF
node: instr
log: { level: warn }
control: { socket: $WORK/buoy.sock }
workers: 1
listeners:
  - { name: http, bind: "127.0.0.1:$PROXY", backend: http }
backends:
  - name: http
    balance: roundrobin
    health: { type: none }
    servers:
      - { address: "127.0.0.1:$ORIGIN" }
EOF

cat >"$WORK/haproxy.cfg" <<EOF
global
    nbthread 1
    maxconn 2000
defaults
    mode tcp
    timeout connect 5s
    timeout client 1h
    timeout server 1h
listen http
    bind 127.0.0.1:$PROXY
    server o1 127.0.0.1:$ORIGIN
EOF

cat >"$WORK/nginx/nginx.conf" <<EOF
load_module $STREAM_MOD;
worker_processes 1;
master_process off;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 2048; }
stream {
    proxy_timeout 1h;
    upstream http { server 127.0.0.1:$ORIGIN; }
    server { listen 127.0.0.1:$PROXY; proxy_pass http; }
}
EOF

proxy_cmd() { # proxy -> its command line (run in the foreground, one thread)
	case $1 in
	buoy) echo "$BUOY_BIN run -c $WORK/buoy.yaml" ;;
	haproxy) echo "haproxy -db -f $WORK/haproxy.cfg" ;;
	nginx) echo "nginx -p $WORK/nginx -e $WORK/nginx/error.log -c $WORK/nginx/nginx.conf" ;;
	esac
}

# The client: a fixed number of requests, CONNS in flight, each response checked for a 200.
# keepalive: CONNS persistent connections; close: CONNS new connections at a time, read to EOF.
cat >"$WORK/client.py" <<'EOF'
import socket, sys, time
port, mode, n, conns, limit = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
deadline = time.monotonic() + limit
KA = b"GET / HTTP/1.1\r\nHost: instr\r\n\r\n"
CLOSE = b"GET / HTTP/1.1\r\nHost: instr\r\nConnection: close\r\n\r\n"

def connect():
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s

def one_response(s, buf):  # -> what follows the response in buf
    while True:
        h = buf.find(b"\r\n\r\n")
        if h >= 0:
            head = buf[:h].lower()
            i = head.find(b"content-length:")
            if not buf.startswith(b"HTTP/1.1 200") or i < 0:
                raise SystemExit("bad response: %r" % buf[:80])
            end = h + 4 + int(head[i + 15:].split(b"\r\n", 1)[0])
            if len(buf) >= end:
                return buf[end:]
        d = s.recv(65536)
        if not d:
            raise SystemExit("connection closed early")
        buf += d

done = 0
if mode == "keepalive":
    socks = [connect() for _ in range(min(conns, n))]
    while done < n and time.monotonic() < deadline:
        batch = socks[:min(len(socks), n - done)]
        for s in batch:
            s.sendall(KA)
        for s in batch:
            one_response(s, b"")
        done += len(batch)
    for s in socks:
        s.close()
else:
    while done < n and time.monotonic() < deadline:
        batch = [connect() for _ in range(min(conns, n - done))]
        for s in batch:
            s.sendall(CLOSE)
        for s in batch:
            rest = one_response(s, b"")
            while not rest and s.recv(4096):  # the proxy closes after the origin did
                pass
            s.close()
        done += len(batch)
print(done)
EOF

client() { # mode requests -> 0 when all were answered
	local got
	got=$(timeout 600 "$PY" "$WORK/client.py" "$PROXY" "$1" "$2" "$CONNS" 540 2>>"$WORK/client.err")
	[ "${got:-0}" = "$2" ] || { log "client $1: ${got:-0} of $2 answered: $(tail -n 1 "$WORK/client.err")"; return 1; }
}

# run PROXY NAME LOAD_MODE LOAD_REQS: one proxy lifetime under callgrind -> $WORK/NAME.cg
run_one() {
	local p=$1 name=$2 mode=$3 n=$4 pid ok=0
	# shellcheck disable=SC2046 # the command line is split on purpose
	start "$name" valgrind --tool=callgrind --callgrind-out-file="$WORK/$name.cg" $(proxy_cmd "$p")
	pid=$PID
	if wait_port "$PROXY" 60 && client keepalive $WARM_KA && client close $WARM_CLOSE &&
	   { [ "$n" = 0 ] || client "$mode" "$n"; }; then
		ok=1
	fi
	stop "$pid"
	# the port must be free again before the next run binds it
	for _ in $(seq 1 50); do port_listening "$PROXY" || break; sleep 0.1; done
	[ $ok = 1 ] && [ -s "$WORK/$name.cg" ] && return 0
	log "$name failed: $(tail -n 2 "$WORK/$name.log" | tr '\n' ' ' | cut -c1-200)"
	return 1
}

total_ir() { # callgrind file -> total Ir
	awk '/^totals:/ { t = $2 } /^summary:/ && t == "" { t = $2 } END { print t }' "$1"
}

annotate() { # callgrind file -> FILE.fn: every function's exclusive Ir, no source
	timeout 120 callgrind_annotate --auto=no --threshold=100 --inclusive=no "$1" >"$1.fn" 2>/dev/null
}

# top_fns RUN.fn BASE.fn REQUESTS: the functions whose Ir grew most from BASE to RUN, per request.
# Inlined code is listed under its header's file: the parts are summed by function name.
top_fns() {
	"$PY" - "$1" "$2" "$3" "$TOP" <<'EOF'
import re, sys
def load(path):
    ir, obj, table = {}, {}, False
    for line in open(path):
        if re.match(r"^Ir +file:function", line):
            table = True
            continue
        m = re.match(r"^ *([0-9,]+) +\([ 0-9.]+%\) +(.*)$", line)
        if not table or not m or m.group(2) == "PROGRAM TOTALS":
            continue
        entry = m.group(2)
        where = re.search(r" \[(.*)\]$", entry)
        if where:
            entry = entry[:where.start()]
        name = entry.partition(":")[2] or entry
        ir[name] = ir.get(name, 0) + int(m.group(1).replace(",", ""))
        if where:
            obj[name] = where.group(1).rsplit("/", 1)[-1]
    return ir, obj
(run, obj), (base, _) = load(sys.argv[1]), load(sys.argv[2])
n, top = int(sys.argv[3]), int(sys.argv[4])
diff = sorted(((run[f] - base.get(f, 0), f) for f in run), reverse=True)
total = sum(d for d, _ in diff)
for d, f in diff[:top]:
    print("  %8.0f  %5.1f%%  %s (%s)" % (d / n, 100.0 * d / total if total else 0, f, obj.get(f, "?")))
EOF
}

# ---------- main ----------
log "work dir $WORK, ports $ORIGIN (origin) $PROXY (proxy); $REQS keep-alive and $CLOSE_REQS close requests, $CONNS at a time"
start origin nginx -p "$WORK/origin" -e "$WORK/origin/error.log" -c "$WORK/origin/nginx.conf"
wait_port "$ORIGIN" 10 || { log "origin did not start: $(tail -n 2 "$WORK/origin.log")"; exit 1; }

declare -A KA_IR CLOSE_IR
for p in $PROXIES; do
	KA_IR[$p]=n/a CLOSE_IR[$p]=n/a
	log "$p: warm-up only, +$REQS keep-alive, +$CLOSE_REQS close (under callgrind)"
	run_one "$p" "$p-base" none 0 || continue
	base=$(total_ir "$WORK/$p-base.cg")
	if run_one "$p" "$p-ka" keepalive "$REQS"; then
		KA_IR[$p]=$(( ($(total_ir "$WORK/$p-ka.cg") - base) / REQS ))
	fi
	if run_one "$p" "$p-close" close "$CLOSE_REQS"; then
		CLOSE_IR[$p]=$(( ($(total_ir "$WORK/$p-close.cg") - base) / CLOSE_REQS ))
	fi
done

ratio() { # value haproxy-value
	[[ $1 =~ ^[0-9]+$ && $2 =~ ^[1-9][0-9]*$ ]] && awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }' || echo n/a
}
echo
echo "User-space instructions (Ir) per request, callgrind; kernel work not counted"
printf '%-8s  %16s  %12s  %13s  %12s\n' proxy "keep-alive Ir" "vs haproxy" "close Ir" "vs haproxy"
for p in $PROXIES; do
	printf '%-8s  %16s  %12s  %13s  %12s\n' "$p" "${KA_IR[$p]}" "$(ratio "${KA_IR[$p]}" "${KA_IR[haproxy]}")" \
		"${CLOSE_IR[$p]}" "$(ratio "${CLOSE_IR[$p]}" "${CLOSE_IR[haproxy]}")"
done
for mode in ka close; do
	[ -s "$WORK/buoy-$mode.cg" ] && [ -s "$WORK/buoy-base.cg" ] || continue
	annotate "$WORK/buoy-$mode.cg"
	[ -s "$WORK/buoy-base.cg.fn" ] || annotate "$WORK/buoy-base.cg"
	n=$REQS label=keep-alive
	[ $mode = close ] && n=$CLOSE_REQS label=close
	echo
	echo "buoy, top $TOP functions, $label (Ir per request, share of buoy's Ir per request):"
	top_fns "$WORK/buoy-$mode.cg.fn" "$WORK/buoy-base.cg.fn" "$n"
done
echo
echo "settings: $REQS keep-alive over $CONNS connections, $CLOSE_REQS close $CONNS at a time; warm-up $WARM_KA keep-alive + $WARM_CLOSE close; buoy workers: 1, haproxy nbthread 1, nginx 1 worker master_process off; $(valgrind --version)"
echo "versions: $("$BUOY_BIN" version 2>/dev/null | head -n1); $(haproxy -v 2>/dev/null | head -n1 | cut -d' ' -f1-3); $(nginx -v 2>&1 | cut -d' ' -f3)"
