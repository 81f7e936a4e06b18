#!/bin/bash
# make soak [SOAK_SECONDS=600]: a long run under load with faults, not part of CI (needs root).
#
# Topology (network namespaces buoys-<pid>-*, bridge in a switch namespace, 198.18.0.0/24):
#   client (wrk + a probe) -> lb (buoy, 198.18.0.1:8080, roundrobin) -> api1..3 (nginx :80)
# For SOAK_SECONDS, wrk keeps 50 keep-alive connections busy through buoy while a probe makes
# ~20 fresh-connection requests per second and logs each failure with its time. Every
# FAULT_EVERY seconds (default 20) one random fault runs: SIGKILL an api's nginx (restarted
# after 5 s), flap an api's cable (down 3 s), or `buoy reload` (skipped if unsupported). A fault
# window is the fault's duration plus SETTLE seconds (health checks, retries). At the end:
#   - probe failures outside every fault window (want 0) and inside them,
#   - wrk's totals (requests, errors, non-2xx),
#   - buoy's fd count and RSS at start and end (and every 30 s): they must be flat.
# Exit 1 if buoy died, failures happened outside fault windows, or fds grew by more than 16.
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
BUOY_BIN=${BUOY_BIN:-$HERE/buoy}
SOAK_SECONDS=${SOAK_SECONDS:-600}
FAULT_EVERY=${FAULT_EVERY:-20}
SETTLE=${SETTLE:-3}
PY=/usr/bin/python3
P=buoys-$$-
WORK=$(mktemp -d /tmp/buoy-soak.XXXXXX)
NS_ALL=()

[ "$(id -u)" = 0 ] || { echo "soak: needs root (network namespaces)" >&2; exit 2; }
for t in wrk nginx ip "$PY"; do command -v "$t" >/dev/null || { echo "soak: $t missing (make deps-bench)" >&2; exit 2; }; done
[ -x "$BUOY_BIN" ] || { echo "soak: no buoy binary at $BUOY_BIN" >&2; exit 2; }

cleanup() {
	set +e
	for ns in "${NS_ALL[@]}"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
	done
	for ns in "${NS_ALL[@]}"; do ip netns del "$ns" 2>/dev/null; done
	[ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

nsx() { local n=$1; shift; ip netns exec "$P$n" "$@"; }
mkns() {
	ip netns add "$P$1"
	NS_ALL+=("$P$1")
	nsx "$1" ip link set lo up
}

# ---- topology ----
mkns sw
nsx sw ip link add br0 type bridge forward_delay 0 stp_state 0
nsx sw ip link set br0 up
declare -A ADDR=([lb]=198.18.0.1 [api1]=198.18.0.11 [api2]=198.18.0.12 [api3]=198.18.0.13 [client]=198.18.0.50)
declare -A PORT
i=0
for h in lb api1 api2 api3 client; do
	i=$((i + 1))
	mkns "$h"
	nsx sw ip link add "p$i" type veth peer name eth0 netns "$P$h"
	nsx sw ip link set "p$i" master br0 up
	nsx "$h" ip addr add "${ADDR[$h]}/24" dev eth0
	nsx "$h" ip link set eth0 up
	PORT[$h]=p$i
done

# ---- backends: nginx, one worker each, a tiny 200 ----
start_nginx() {
	local h=$1 d=$WORK/$1
	mkdir -p "$d"
	cat >"$d/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    server { listen ${ADDR[$h]}:80 reuseport; location / { return 200 "$h\n"; } }
}
EOF
	nsx "$h" nginx -p "$d" -e "$d/error.log" -c "$d/nginx.conf" </dev/null >/dev/null 2>&1 &
	echo $! >"$d/launcher.pid"
}
for h in api1 api2 api3; do start_nginx "$h"; done

# ---- buoy ----
write_cfg() { # $1: weight of api3 (a reload changes it so the plan has work to do)
	cat >"$WORK/buoy.yaml.tmp" <<EOF
node: soak
log: { level: info }
control: { socket: $WORK/buoy.sock }
metrics: { listen: "127.0.0.1:9254" }
listeners:
  - { name: web, bind: "${ADDR[lb]}:8080", backend: apis }
backends:
  - name: apis
    balance: roundrobin
    connect_timeout: 500ms
    idle_timeout: 30s
    max_fails: 1
    fail_timeout: 2s
    health: { type: http, path: /, interval: 500ms, timeout: 500ms, rise: 2, fall: 2 }
    servers:
      - { address: "${ADDR[api1]}:80" }
      - { address: "${ADDR[api2]}:80" }
      - { address: "${ADDR[api3]}:80", weight: $1 }
EOF
	mv "$WORK/buoy.yaml.tmp" "$WORK/buoy.yaml"
}
write_cfg 1
chmod 0644 "$WORK/buoy.yaml"
ip netns exec "${P}lb" "$BUOY_BIN" run -c "$WORK/buoy.yaml" 2>"$WORK/buoy.log" & # $! is buoy (exec)
BUOY_PID=$!
disown "$BUOY_PID" # no "Killed" job notice at cleanup
for _ in $(seq 100); do grep -q 'msg="started"' "$WORK/buoy.log" 2>/dev/null && break; sleep 0.1; done
grep -q 'msg="started"' "$WORK/buoy.log" || { echo "soak: buoy did not start"; cat "$WORK/buoy.log"; exit 1; }
sleep 1.5 # health checks: rise 2

sample() { # "fds rss_kb threads"
	local fds rss thr
	fds=$(ls "/proc/$BUOY_PID/fd" 2>/dev/null | wc -l)
	rss=$(awk '/^VmRSS/ {print $2}' "/proc/$BUOY_PID/status" 2>/dev/null)
	thr=$(awk '/^Threads/ {print $2}' "/proc/$BUOY_PID/status" 2>/dev/null)
	echo "$fds ${rss:-0} ${thr:-0}"
}

# ---- load: wrk for the whole run, plus a probe that timestamps every failure ----
cat >"$WORK/probe.py" <<'EOF'
import socket, sys, time
addr, seconds, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
host, port = addr.split(":")
end = time.time() + seconds
ok = 0
with open(out, "w", buffering=1) as f:
    while time.time() < end:
        t = time.time()
        try:
            s = socket.create_connection((host, int(port)), timeout=2)
            s.settimeout(2)
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            d = b""
            while True:
                c = s.recv(4096)
                if not c:
                    break
                d += c
            s.close()
            if not d.startswith(b"HTTP/1.1 200"):
                raise OSError("bad answer %r" % d[:40])
            ok += 1
        except OSError as e:
            f.write("%.3f %s\n" % (t, str(e).replace(" ", "_")))
        time.sleep(max(0, 0.05 - (time.time() - t)))
    f.write("ok %d\n" % ok)
EOF
read -r FD0 RSS0 THR0 <<<"$(sample)"
echo "soak: ${SOAK_SECONDS}s, fault every ${FAULT_EVERY}s; buoy pid $BUOY_PID: fds=$FD0 rss=${RSS0}kB threads=$THR0"
T0=$(date +%s)
nsx client wrk -t2 -c50 -d"${SOAK_SECONDS}s" --timeout 5s "http://${ADDR[lb]}:8080/" >"$WORK/wrk.txt" 2>&1 &
WRK=$!
nsx client "$PY" "$WORK/probe.py" "${ADDR[lb]}:8080" "$SOAK_SECONDS" "$WORK/probe.txt" &
PROBE=$!

# ---- faults ----
RELOAD_OK=1
WEIGHT=1
: >"$WORK/windows.txt"
fault() {
	local kind=$1 h=api$((RANDOM % 3 + 1)) start end
	start=$(date +%s.%N)
	case $kind in
	kill)
		echo "  $(date +%T) kill nginx on $h (back in 5 s)"
		for pid in $(ip netns pids "$P$h"); do kill -9 "$pid" 2>/dev/null || true; done
		sleep 5
		start_nginx "$h" ;;
	flap)
		echo "  $(date +%T) link down on $h for 3 s"
		nsx sw ip link set "${PORT[$h]}" down
		sleep 3
		nsx sw ip link set "${PORT[$h]}" up ;;
	reload)
		WEIGHT=$((3 - WEIGHT)) # 1 <-> 2: every reload has a change to apply
		write_cfg "$WEIGHT"
		local out
		if out=$("$BUOY_BIN" reload --socket "$WORK/buoy.sock" 2>&1); then
			echo "  $(date +%T) reload: $(echo "$out" | tail -n1)"
		elif echo "$out" | grep -qi "not supported\|unknown command\|unsupported"; then
			echo "  $(date +%T) reload unsupported by this buoy: reloads skipped"
			RELOAD_OK=0
		else
			echo "  $(date +%T) reload FAILED: $out"
			echo "reload-failed" >>"$WORK/windows.txt"
		fi ;;
	esac
	end=$(date +%s.%N)
	echo "$start $end $kind" >>"$WORK/windows.txt"
}

last_sample=0
while kill -0 "$WRK" 2>/dev/null; do
	el=$(($(date +%s) - T0))
	if [ "$el" -ge $((SOAK_SECONDS - FAULT_EVERY)) ]; then sleep 1; continue; fi # a quiet tail
	if [ $((el - last_sample)) -ge 30 ]; then
		read -r fd rss thr <<<"$(sample)"
		echo "  $(date +%T) t=${el}s buoy fds=$fd rss=${rss}kB threads=$thr"
		last_sample=$el
	fi
	sleep "$FAULT_EVERY"
	kill -0 "$WRK" 2>/dev/null || break
	# the last stretch stays quiet so the end-of-run numbers are not taken inside a fault
	[ $(($(date +%s) - T0)) -lt $((SOAK_SECONDS - 12)) ] || continue
	kinds="kill flap"
	[ "$RELOAD_OK" = 1 ] && kinds="kill flap reload"
	set -- $kinds
	n=$#
	pick=$((RANDOM % n + 1))
	fault "${!pick}"
done
wait "$WRK" || true
wait "$PROBE" || true
sleep 1
read -r FD1 RSS1 THR1 <<<"$(sample)"

# ---- report ----
alive=1
kill -0 "$BUOY_PID" 2>/dev/null || alive=0
"$PY" - "$WORK/probe.txt" "$WORK/windows.txt" "$SETTLE" >"$WORK/classify.txt" <<'EOF'
import sys
probe, windows, settle = sys.argv[1], sys.argv[2], float(sys.argv[3])
wins = []
for line in open(windows):
    p = line.split()
    if len(p) == 3:
        wins.append((float(p[0]), float(p[1]) + settle, p[2]))
inside = outside = ok = 0
out_lines = []
for line in open(probe):
    p = line.split()
    if p[0] == "ok":
        ok = int(p[1])
        continue
    t = float(p[0])
    if any(a <= t <= b for a, b, _ in wins):
        inside += 1
    else:
        outside += 1
        out_lines.append(line.strip())
print("%d %d %d %d" % (ok, inside, outside, len(wins)))
for l in out_lines[:20]:
    print("  outside a fault window: " + l)
EOF
read -r OK IN OUT NW <<<"$(head -n1 "$WORK/classify.txt")"
echo
echo "== soak summary (${SOAK_SECONDS}s, $NW faults: $(awk '{print $3}' "$WORK/windows.txt" | sort | uniq -c | tr -s ' ' | tr '\n' ' '))"
grep -E "requests in|Socket errors|Non-2xx|Requests/sec|Latency" "$WORK/wrk.txt" | sed 's/^/  wrk: /'
echo "  probe: ok=$OK failures inside fault windows=$IN outside=$OUT"
tail -n +2 "$WORK/classify.txt"
echo "  buoy: alive=$alive fds start=$FD0 end=$FD1; rss start=${RSS0}kB end=${RSS1}kB; threads $THR0 -> $THR1"
echo "  buoy error lines: $(grep -c 'level=error' "$WORK/buoy.log" || true)"
fail=0
[ "$alive" = 1 ] || { echo "FAIL: buoy died"; tail -n 30 "$WORK/buoy.log"; fail=1; }
[ "$OUT" = 0 ] || { echo "FAIL: failures outside fault windows"; fail=1; }
[ "$FD1" -le $((FD0 + 16)) ] || { echo "FAIL: fd count grew ($FD0 -> $FD1)"; fail=1; }
if grep -q "reload-failed" "$WORK/windows.txt"; then echo "FAIL: a reload failed"; fail=1; fi
if grep -qE "ERROR: [A-Za-z]+Sanitizer|runtime error:" "$WORK/buoy.log"; then echo "FAIL: sanitizer report"; fail=1; fi
[ "$fail" = 0 ] && echo "soak: ok"
exit $fail
