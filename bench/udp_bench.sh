#!/usr/bin/env bash
# UDP load balancing: buoy beside nginx stream's UDP proxy, on loopback only.
#
#   BUOY_BIN=./buoy bench/udp_bench.sh [--runs N] [--duration S] [--keep]
#
# Two echo origins (bench/udpblast.c echo), buoy (2 workers) and nginx stream (2 workers,
# reuseport) each with two UDP listeners over both origins, round robin:
#   stream  32 clients x 16 datagrams in flight, long sessions (syslog, a tunnel)
#   dns     128 clients x 1 in flight, proxy_responses 1: every query is a session of its own
# The load is closed-loop (bench/udpblast.c blast: one more datagram per reply), so each proxy
# runs as fast as it can at near-zero loss; the table shows datagram round trips per second
# (client -> proxy -> origin -> proxy -> client), loss, and proxy CPU per round trip. "direct"
# is the blaster against one origin. RUNS rounds alternate targets (drift hits all alike);
# medians. Every process is stopped by the EXIT trap; every load is bounded by its duration.
set -u -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
BUOY_BIN=${BUOY_BIN:-$HERE/../buoy}
RUNS=3
DUR=5
KEEP=0
SIZE=64

while [ $# -gt 0 ]; do
	case "$1" in
	--runs) RUNS=$2; shift ;;
	--duration) DUR=$2; shift ;;
	--keep) KEEP=1 ;;
	-h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "udp_bench: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

log() { printf 'udp_bench: %s\n' "$*" >&2; }
WORK=$(mktemp -d /tmp/buoy-udpbench.XXXXXX)
PIDS=""
cleanup() {
	local p
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ "$KEEP" = 1 ] && log "kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

BASE=$((20000 + RANDOM % 20000))
O1=$BASE O2=$((BASE + 1))
declare -A PORT=([buoy-stream]=$((BASE + 10)) [buoy-dns]=$((BASE + 11))
	[nginx-stream]=$((BASE + 20)) [nginx-dns]=$((BASE + 21)) [direct-stream]=$O1)
LIFE=$((RUNS * DUR * 6 + 60)) # origins exit by themselves even if the trap never runs

cc -O2 -o "$WORK/udpblast" "$HERE/udpblast.c" || { log "cannot build bench/udpblast.c"; exit 1; }
for p in $O1 $O2; do
	"$WORK/udpblast" echo "$p" "$LIFE" & PIDS="$PIDS $!"
done

cat >"$WORK/buoy.yaml" <<EOF
node: bench
log: { level: warn }
control: { socket: $WORK/buoy.sock }
workers: 2
listeners:
  - { name: stream, protocol: udp, bind: "127.0.0.1:${PORT[buoy-stream]}", backend: o }
  - { name: dns, protocol: udp, bind: "127.0.0.1:${PORT[buoy-dns]}", backend: o, proxy_responses: 1 }
backends:
  - name: o
    health: { type: none }
    servers:
      - { address: "127.0.0.1:$O1" }
      - { address: "127.0.0.1:$O2" }
EOF
mkdir -p "$WORK/nginx"
cat >"$WORK/nginx/nginx.conf" <<EOF
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
worker_processes 2;
worker_rlimit_nofile 20000;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 10000; }
stream {
    upstream o { server 127.0.0.1:$O1; server 127.0.0.1:$O2; }
    server { listen 127.0.0.1:${PORT[nginx-stream]} udp reuseport; proxy_pass o; proxy_timeout 30s; }
    server { listen 127.0.0.1:${PORT[nginx-dns]} udp reuseport; proxy_pass o; proxy_timeout 30s; proxy_responses 1; }
}
EOF
declare -A PID_OF
"$BUOY_BIN" run -c "$WORK/buoy.yaml" 2>"$WORK/buoy.log" & PID_OF[buoy]=$!; PIDS="$PIDS $!"
nginx -p "$WORK/nginx" -e "$WORK/nginx/error.log" -c "$WORK/nginx/nginx.conf" 2>"$WORK/nginx.log" &
PID_OF[nginx]=$!; PIDS="$PIDS $!"
sleep 1
for t in buoy nginx; do
	kill -0 "${PID_OF[$t]}" 2>/dev/null || { log "$t did not start"; cat "$WORK/$t.log" >&2; exit 1; }
done

CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { # utime+stime over the process and its children (nginx workers), all threads
	local sum=0 p v
	for p in $1 $(pgrep -P "$1" 2>/dev/null); do
		v=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}')
		sum=$((sum + ${v:-0}))
	done
	echo $sum
}

RES=$WORK/results.tsv # target mode run dps loss cpu_us
: >"$RES"
measure() { # target mode
	local t=$1 mode=$2 clients window pid c0 c1 out
	[ "$mode" = stream ] && clients=32 window=16 || clients=128 window=1
	pid=${PID_OF[$t]:-}
	c0=$([ -n "$pid" ] && cpu_ticks "$pid" || echo 0)
	out=$("$WORK/udpblast" blast "${PORT[$t-$mode]}" "$clients" "$window" "$DUR" "$SIZE")
	c1=$([ -n "$pid" ] && cpu_ticks "$pid" || echo 0)
	echo "$out" | awk -v t="$t" -v m="$mode" -v r="$run" -v dc=$((c1 - c0)) -v hz="$CLK_TCK" '{
		for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		cpu = v["replies"] > 0 && dc > 0 ? dc / hz * 1e6 / v["replies"] : 0
		printf "%s\t%s\t%s\t%s\t%s\t%.2f\n", t, m, r, v["dps"], v["loss"], cpu }' >>"$RES"
	log "$(tail -n1 "$RES")"
}

"$WORK/udpblast" blast "${PORT[buoy-stream]}" 8 4 1 "$SIZE" >/dev/null # warm-up
"$WORK/udpblast" blast "${PORT[nginx-stream]}" 8 4 1 "$SIZE" >/dev/null
for run in $(seq 1 "$RUNS"); do
	for mode in stream dns; do
		for t in direct buoy nginx; do
			[ "$t" = direct ] && [ "$mode" = dns ] && continue
			measure "$t" "$mode"
		done
	done
done

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR) print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2); else print "n/a" }'; }
col() { awk -F'\t' -v t="$1" -v m="$2" -v c="$3" '$1 == t && $2 == m { print $c }' "$RES" | median; }

echo
echo "UDP, $(date -u '+%Y-%m-%d %H:%M UTC'), $RUNS x ${DUR}s, ${SIZE}-byte datagrams, medians"
echo "buoy $("$BUOY_BIN" version 2>/dev/null | head -n1); $(nginx -v 2>&1 | cut -d' ' -f3)"
echo
echo "| mode | measure | direct | buoy | nginx | buoy/nginx |"
echo "|---|---|---:|---:|---:|---:|"
for mode in stream dns; do
	for m in "round trips/s:4" "loss:5" "proxy CPU us per round trip:6"; do
		name=${m%%:*} c=${m##*:}
		d=$([ "$mode" = stream ] && col direct "$mode" "$c" || echo -)
		b=$(col buoy "$mode" "$c") n=$(col nginx "$mode" "$c")
		ratio=$(awk -v b="$b" -v n="$n" -v c="$c" 'BEGIN { if (c != 5 && n + 0 > 0) printf "%.2f", b / n; else print "-" }')
		[ "$c" = 6 ] && [ "$mode" = stream ] && d=-
		echo "| $mode | $name | $d | $b | $n | $ratio |"
	done
done
echo
echo "per run:"
sed 's/^/    /' "$RES"
