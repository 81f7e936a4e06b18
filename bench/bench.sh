#!/usr/bin/env bash
# buoy benchmark: the direct path, buoy, HAProxy (tcp, with and without splice-auto) and nginx
# stream, side by side in one run, with the same origins, on loopback only.
#
#   BUOY_BIN=./buoy bench/bench.sh [--quick] [--runs N] [--duration S] [--conns N]
#                                  [--burst N] [--keep]
#                                  [--targets direct,buoy,buoy-sockmap,haproxy,haproxy-splice,nginx]
#
# Origins: nginx http (tiny 200 body, keep-alive), an iperf3 server, and a holder of idle
# connections (bench/idle_hold.py). Each proxy gets one listener per origin. Measures:
# iperf3 -P1 and -P8 throughput, proxy CPU seconds per GB relayed (during -P1), wrk keep-alive
# req/s with p50/p99 latency and, per request, proxy CPU, proxy preemptions and the whole
# machine's CPU and idle share (the box is saturated: req/s only follows these costs), wrk
# `Connection: close` req/s (new connections/s) with segments and proxy CPU per request, a burst of
# 5000 connections opened at once (bench/burst.c: unserved count, p99 connect -> first response
# byte), and proxy RSS per idle proxied connection. A warm-up, then RUNS rounds; each round runs
# every target for a measure before moving on, so drift on a shared machine hits all targets
# alike. The table shows medians; bench/results-latest.md gets the table, the per-run values
# and the machine.
# buoy-sockmap is the same buoy with `fast_path: sockmap` (issue 21). buoy status before and
# after each of its measures proves how many of the measure's connections moved to the kernel
# path; report.py marks what stayed in the relay, names the column "not on the kernel path"
# when keep-alive did not move, and prints issue 21's goals met/missed. A buoy that cannot load
# the program exits at start: the column is skipped with its reason, the rest runs.
# A target that fails to start or dies shows as n/a; the run goes on. Every process started here
# is stopped by the EXIT trap, also on failure or Ctrl-C; every load is bounded by `timeout`.
set -u -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
PY=/usr/bin/python3
BUOY_BIN=${BUOY_BIN:-$HERE/../buoy}
RUNS=3
DUR=5
CONNS=3000
BURST=5000
KEEP=0
TARGETS="direct buoy buoy-sockmap haproxy haproxy-splice nginx"
ORIGIN_WORKERS=${ORIGIN_WORKERS:-1}
WRK_CONNS=${WRK_CONNS:-50}
WRK_THREADS=${WRK_THREADS:-2}

usage() { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) RUNS=1; DUR=2; CONNS=1000; BURST=2000 ;;
	--runs) RUNS=$2; shift ;;
	--duration) DUR=$2; shift ;;
	--conns) CONNS=$2; shift ;;
	--burst) BURST=$2; shift ;;
	--targets) TARGETS=$(echo "$2" | tr ',' ' '); shift ;;
	--keep) KEEP=1 ;;
	-h|--help) usage 0 ;;
	*) echo "bench: unknown option $1" >&2; usage 2 >&2 ;;
	esac
	shift
done

log() { printf 'bench: %s\n' "$*" >&2; }

WORK=$(mktemp -d /tmp/buoy-bench.XXXXXX)
RESULTS=$WORK/results.tsv   # measure  target  run  value
NOTES=$WORK/notes.txt
: >"$RESULTS"
: >"$NOTES"
note() { log "$*"; printf '%s\n' "$*" >>"$NOTES"; }

# ---------- process bookkeeping: everything we start is in PIDS and dies in cleanup ----------
PIDS=()
declare -A PID_OF
CLIENT=""   # the load generator running now (see run_bounded)
cleanup() {
	trap - EXIT INT TERM
	local p
	[ -n "$CLIENT" ] && kill -TERM "$CLIENT" 2>/dev/null # timeout(1) passes it on
	for p in "${PIDS[@]}"; do
		kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null
	done
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		local alive=0
		for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ $alive = 0 ] && break
		sleep 0.2
	done
	for p in "${PIDS[@]}"; do
		kill -KILL -- "-$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	if [ $KEEP = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'log interrupted; exit 130' INT TERM

# start NAME CMD...: runs CMD in its own session (so its children die with it), logs to WORK.
start() {
	local name=$1; shift
	setsid "$@" >"$WORK/$name.log" 2>&1 </dev/null &
	PID_OF[$name]=$!
	PIDS+=($!)
}

# run_bounded SECS CMD...: runs a load generator for at most SECS, output in $WORK/client.out
# (stderr in client.err).
# It runs in the background and we `wait` for it: a signal then interrupts the wait and the
# trap runs at once (bash would otherwise defer it until a foreground child that handles
# SIGINT itself, like iperf3, has finished).
run_bounded() {
	local secs=$1; shift
	timeout "$secs" "$@" >"$WORK/client.out" 2>"$WORK/client.err" &
	CLIENT=$!
	wait "$CLIENT"
	CLIENT=""
}

alive() { local p=${PID_OF[$1]:-}; [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }

# stop NAME: ends one process we started (and its session), forgets its pid so that cleanup
# can never signal a recycled pid.
stop() {
	local p=${PID_OF[$1]:-} q keep=()
	[ -n "$p" ] || return 0
	kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null
	for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -KILL -- "-$p" 2>/dev/null
	wait "$p" 2>/dev/null
	for q in "${PIDS[@]}"; do [ "$q" = "$p" ] || keep+=("$q"); done
	PIDS=("${keep[@]}")
	unset "PID_OF[$1]"
}

# A block of 15 free ports below the ephemeral range, different per run.
pick_ports() {
	local base i ok
	for try in $(seq 0 40); do
		base=$((20000 + (($$ + try * 37) % 400) * 25))
		ok=1
		for i in $(seq 0 17); do port_listening $((base + i)) && { ok=0; break; }; done
		[ $ok = 1 ] && { echo $base; return 0; }
	done
	return 1
}

# ---------- preflight ----------
ulimit -n "$(ulimit -Hn)" 2>/dev/null
for tool in iperf3 wrk cc setsid timeout; do
	command -v $tool >/dev/null || { log "missing $tool (make bench installs it)"; exit 1; }
done
[ -x "$PY" ] || { log "missing $PY"; exit 1; }
cc -O2 -o "$WORK/burst" "$HERE/burst.c" || { log "cannot build bench/burst.c"; exit 1; }
BASE=$(pick_ports) || { log "no free port block"; exit 1; }
ORIGIN_HTTP=$BASE ORIGIN_IPERF=$((BASE + 1)) ORIGIN_HOLD=$((BASE + 2))
declare -A HTTP_PORT IPERF_PORT HOLD_PORT
HTTP_PORT[direct]=$ORIGIN_HTTP IPERF_PORT[direct]=$ORIGIN_IPERF HOLD_PORT[direct]=$ORIGIN_HOLD
i=3
for t in buoy buoy-sockmap haproxy haproxy-splice nginx; do
	HTTP_PORT[$t]=$((BASE + i)) IPERF_PORT[$t]=$((BASE + i + 1)) HOLD_PORT[$t]=$((BASE + i + 2))
	i=$((i + 3))
done
ALL_TARGETS="direct buoy buoy-sockmap haproxy haproxy-splice nginx"
declare -A UP WHY
for t in $ALL_TARGETS; do UP[$t]=0 WHY[$t]="not selected"; done

# ---------- configs ----------
write_origin_conf() {
	mkdir -p "$WORK/origin"
	{
		cat <<EOF
worker_processes $ORIGIN_WORKERS;
worker_rlimit_nofile 20000;
daemon off;
pid $WORK/origin/nginx.pid;
error_log $WORK/origin/error.log warn;
events { worker_connections 10000; }
EOF
		origin_http_block "$WORK/origin" "$ORIGIN_HTTP" "backlog=4096"
	} >"$WORK/origin/nginx.conf"
}

# backend name, origin port, proxy port: the three listeners every proxy gets.
ROUTES="http:$ORIGIN_HTTP iperf:$ORIGIN_IPERF hold:$ORIGIN_HOLD"
proxy_port() { # target route
	case $2 in http) echo "${HTTP_PORT[$1]}" ;; iperf) echo "${IPERF_PORT[$1]}" ;; hold) echo "${HOLD_PORT[$1]}" ;; esac
}

# buoy-sockmap: the same binary with the kernel fast path (issue 21, fast_path: sockmap).
write_buoy_conf() { # target
	local t=$1 r name port
	{
		echo "node: bench"
		echo "log: { level: warn }"
		echo "control: { socket: $WORK/$t.sock }"
		echo "workers: 2"
		[ "$t" = buoy-sockmap ] && echo "fast_path: sockmap"
		echo "listeners:"
		for r in $ROUTES; do
			name=${r%%:*}
			echo "  - { name: $name, bind: \"127.0.0.1:$(proxy_port "$t" "$name")\", backend: $name }"
		done
		echo "backends:"
		for r in $ROUTES; do
			name=${r%%:*} port=${r#*:}
			echo "  - name: $name"
			echo "    balance: roundrobin"
			echo "    health: { type: none }"
			echo "    servers:"
			echo "      - { address: \"127.0.0.1:$port\" }"
		done
	} >"$WORK/$t.yaml"
}

# The kernel column must have measured the kernel path. buoy status per listener:
# fast_path_total (connections moved to the kernel so far); "-" when the key is missing (a
# buoy without issue 21) or status failed.
fast_path_totals() { # -> "http=N iperf=N hold=N"
	"$BUOY_BIN" status --json --socket "$WORK/buoy-sockmap.sock" 2>/dev/null | "$PY" -c '
import json, sys
try:
    d = json.load(sys.stdin)
    print(" ".join("%s=%s" % (l["name"], l.get("fast_path_total", "-")) for l in d["listeners"]))
except Exception:
    print("status=-")'
}

# The status object that says whether the path is in use and why not.
fast_path_state() {
	"$BUOY_BIN" status --json --socket "$WORK/buoy-sockmap.sock" 2>/dev/null | "$PY" -c '
import json, sys
try:
    f = json.load(sys.stdin).get("fast_path")
    print("missing from status" if f is None else
          "mode=%s active=%s sockets=%s reason=\"%s\"" % (f.get("mode"), f.get("active"),
                                                         f.get("sockets"), f.get("reason", "")))
except Exception:
    print("status failed")'
}

# fp_total TOTALS LISTENER -> that listener's count, or "na" (key missing, status failed)
fp_total() { printf '%s\n' "$1" | tr ' ' '\n' | awk -F= -v l="$2" '$1 == l { v = $2 }
	END { print (v ~ /^[0-9]+$/) ? v : "na" }'; }

# HAProxy, tcp mode, 2 threads, per its docs: generous maxconn (sized so that 2 fds per
# connection plus splice pipes fit the 20000-fd hard limit), long client/server timeouts for idle tunnels, no logging on the data path.
write_haproxy_conf() { # target extra-option
	local t=$1 extra=$2 r name port
	{
		echo "global"
		echo "    nbthread 2"
		echo "    maxconn 7000"
		echo "    pidfile $WORK/$t.pid"
		echo "defaults"
		echo "    mode tcp"
		echo "    timeout connect 5s"
		echo "    timeout client 1h"
		echo "    timeout server 1h"
		[ -n "$extra" ] && echo "    $extra"
		for r in $ROUTES; do
			name=${r%%:*} port=${r#*:}
			echo "listen $name"
			echo "    bind 127.0.0.1:$(proxy_port "$t" "$name")"
			echo "    server o1 127.0.0.1:$port"
		done
	} >"$WORK/$t.cfg"
}

# nginx stream, 2 workers, one reuseport socket per worker (as buoy's SO_REUSEPORT workers).
write_nginx_stream_conf() {
	local r name port
	mkdir -p "$WORK/nginx"
	{
		echo "load_module /usr/lib/nginx/modules/ngx_stream_module.so;"
		echo "worker_processes 2;"
		echo "worker_rlimit_nofile 20000;"
		echo "daemon off;"
		echo "pid $WORK/nginx/nginx.pid;"
		echo "error_log $WORK/nginx/error.log warn;"
		echo "events { worker_connections 10000; }"
		echo "stream {"
		echo "    proxy_timeout 1h;"
		for r in $ROUTES; do
			name=${r%%:*} port=${r#*:}
			echo "    upstream $name { server 127.0.0.1:$port; }"
			echo "    server { listen 127.0.0.1:$(proxy_port nginx "$name") reuseport backlog=4096; proxy_pass $name; }"
		done
		echo "}"
	} >"$WORK/nginx/nginx.conf"
}

# ---------- start everything ----------
start_origins() {
	write_origin_conf
	mkdir -p "$WORK/origin/tmp"
	start origin nginx -p "$WORK/origin" -e "$WORK/origin/error.log" -c "$WORK/origin/nginx.conf"
	start iperf3 iperf3 -s -B 127.0.0.1 -p "$ORIGIN_IPERF" --rcv-timeout 10000
	start hold "$PY" "$HERE/idle_hold.py" server "$ORIGIN_HOLD" 7200
	local p
	for p in $ORIGIN_HTTP $ORIGIN_IPERF $ORIGIN_HOLD; do
		wait_port "$p" 10 || { log "origin on port $p did not start:"; tail -n 5 "$WORK"/*.log >&2; exit 1; }
	done
}

probe_http() { # port -> 0 when a GET through it returns 200 within 3 s
	timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		printf "GET / HTTP/1.0\r\nHost: probe\r\n\r\n" >&3
		read -r status <&3 && [[ $status == "HTTP/1."?" 200"* ]]' _ "$1" 2>/dev/null
}

start_target() { # target
	local t=$1
	case $t in
	direct) ;;
	buoy|buoy-sockmap)
		[ -x "$BUOY_BIN" ] || { WHY[$t]="no binary at $BUOY_BIN"; return 1; }
		write_buoy_conf "$t"
		start "$t" "$BUOY_BIN" run -c "$WORK/$t.yaml" ;;
	haproxy|haproxy-splice)
		command -v haproxy >/dev/null || { WHY[$t]="haproxy not installed"; return 1; }
		write_haproxy_conf "$t" "$([ $t = haproxy-splice ] && echo 'option splice-auto')"
		start "$t" haproxy -db -f "$WORK/$t.cfg" ;;
	nginx)
		[ -e /usr/lib/nginx/modules/ngx_stream_module.so ] || { WHY[$t]="no ngx_stream_module"; return 1; }
		write_nginx_stream_conf
		start nginx nginx -p "$WORK/nginx" -e "$WORK/nginx/error.log" -c "$WORK/nginx/nginx.conf" ;;
	esac
	if ! wait_port "${HTTP_PORT[$t]}" 5 || ! wait_port "${IPERF_PORT[$t]}" 2 ||
	   ! wait_port "${HOLD_PORT[$t]}" 2; then
		local last
		last=$(tail -n 1 "$WORK/$t.log" 2>/dev/null | cut -c1-160)
		if [ "$t" = buoy-sockmap ] && grep -q 'fast path unavailable' "$WORK/$t.log"; then
			# buoy's own words on why the program did not load
			WHY[$t]="buoy cannot use the kernel path here: $(grep -o 'reason="[^"]*"' \
				"$WORK/$t.log" | head -n 1)"
		elif [ "$t" != direct ] && ! alive "$t"; then
			WHY[$t]="exited at start: ${last:-no output}"
		else
			WHY[$t]="did not listen: ${last:-no output}"
		fi
		return 1
	fi
	probe_http "${HTTP_PORT[$t]}" || { WHY[$t]="HTTP probe through it failed"; return 1; }
}

# ---------- process stats ----------
target_pids() { # the proxy process and its children (nginx workers)
	local p=${PID_OF[$1]:-}
	[ -n "$p" ] || return 0
	echo "$p"
	pgrep -P "$p" 2>/dev/null
}

rss_kb() { # sum of VmRSS over the target's processes
	local sum=0 p v
	for p in $(target_pids "$1"); do
		v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null)
		sum=$((sum + ${v:-0}))
	done
	echo $sum
}

cpu_ticks() { # utime+stime over the target's processes (all threads)
	local sum=0 p v
	for p in $(target_pids "$1"); do
		v=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}')
		sum=$((sum + ${v:-0}))
	done
	echo $sum
}
CLK_TCK=$(getconf CLK_TCK)

# Involuntary context switches over the target's threads: times the scheduler took a core away
# from a runnable proxy thread, which is what a saturated 2-core box does to every proxy.
invol_cs() {
	local p
	for p in $(target_pids "$1"); do cat /proc/"$p"/task/*/status 2>/dev/null; done |
		awk '$1 == "nonvoluntary_ctxt_switches:" { s += $2 } END { print s + 0 }'
}

# Whole machine, /proc/stat's first line: "busy idle kernel" in ticks. Idle includes iowait;
# steal (the hypervisor's) and guest (already counted in user) are left out of both. Kernel
# (system, irq, softirq) is part of busy: where a kernel data path's cost shows, kworkers too.
box_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8, $5 + $6, $4 + $7 + $8; exit }' /proc/stat; }

# per_req DELTA REQUESTS SCALE FORMAT: DELTA * SCALE / REQUESTS, formatted
per_req() { awk -v d="$1" -v n="$2" -v k="$3" -v f="$4" 'BEGIN { printf f, d * k / n }'; }
TICK_US=$((1000000 / CLK_TCK))

record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$RESULTS"; }

# ---------- measures: each prints a value or "na" ----------
measure_iperf() { # target run parallel
	local t=$1 run=$2 par=$3 out c0 c1 vals
	c0=$(cpu_ticks "$t")
	run_bounded $((DUR + 20)) iperf3 -c 127.0.0.1 -p "${IPERF_PORT[$t]}" -t "$DUR" -P "$par" \
		--connect-timeout 3000 -J
	out=$(cat "$WORK/client.out")
	c1=$(cpu_ticks "$t")
	vals=$(printf '%s' "$out" | "$PY" -c '
import json, sys
try:
    s = json.load(sys.stdin)["end"]["sum_received"]
    print("%.3f %d" % (s["bits_per_second"] / 1e9, s["bytes"]))
except Exception:
    print("na 0")')
	local gbps=${vals% *} bytes=${vals#* }
	LOAD_CONNS=$((par + 1)) # the data streams and iperf3's control connection
	[ "$gbps" = na ] && note "iperf3 -P$par via $t run $run failed: $(printf '%s' "$out" | grep -o '"error":[^}]*' | head -c 160)"
	record "tput_p$par" "$t" "$run" "$gbps"
	if [ "$par" = 1 ] && [ "$t" != direct ]; then
		if [ "$gbps" != na ] && [ "$bytes" -gt 0 ]; then
			record cpu_per_gb "$t" "$run" "$(awk -v c=$((c1 - c0)) -v hz="$CLK_TCK" -v b="$bytes" \
				'BEGIN { printf "%.3f", (c / hz) / (b / 1e9) }')"
		else
			record cpu_per_gb "$t" "$run" na
		fi
	fi
}

# wrk output -> "rps p50_ms p99_ms errors"
parse_wrk() {
	"$PY" -c '
import re, sys
text = sys.stdin.read()
def ms(v, unit):
    return float(v) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]
rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
p50 = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s|m)\b", text, re.M)
p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m)\b", text, re.M)
err = 0
m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
if m:
    err += sum(int(x) for x in m.groups())
m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
if m:
    err += int(m.group(1))
if not rps or float(rps.group(1)) == 0:
    print("na na na %d" % err)
else:
    print("%.0f %s %s %d" % (float(rps.group(1)),
        "%.3f" % ms(*p50.groups()) if p50 else "na",
        "%.3f" % ms(*p99.groups()) if p99 else "na", err))'
}

# TCP segments sent on this host so far (loopback: both ends of every hop count once each)
out_segs() { awk '$1 == "Tcp:" && $2 ~ /^[0-9]/ { print $12 }' /proc/net/snmp; }

measure_wrk() { # target run mode(keepalive|close)
	local t=$1 run=$2 mode=$3 out hdr=() s0 s1 c0 c1 x0 x1 b0 b1 bb0 bi0 bk0 bb1 bi1 bk1 n
	[ "$mode" = close ] && hdr=(-H 'Connection: close')
	s0=$(out_segs) c0=$(cpu_ticks "$t") x0=$(invol_cs "$t") b0=$(box_ticks)
	run_bounded $((DUR + 15)) wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"${DUR}s" --latency "${hdr[@]}" \
		"http://127.0.0.1:${HTTP_PORT[$t]}/"
	b1=$(box_ticks) s1=$(out_segs) c1=$(cpu_ticks "$t") x1=$(invol_cs "$t")
	out=$(cat "$WORK/client.out")
	read -r rps p50 p99 err <<<"$(printf '%s' "$out" | parse_wrk)"
	# Costs per request: steadier than req/s on a shared machine, where every proxy saturates
	# both cores and req/s only follows what a request costs.
	n=$(printf '%s' "$out" | awk '/requests in/ { print $1; exit }')
	LOAD_CONNS=$([ "$mode" = close ] && echo "${n:-0}" || echo "$WRK_CONNS")
	if [ -n "$n" ] && [ "$n" -gt 0 ]; then
		if [ "$mode" = close ]; then
			record segs_close "$t" "$run" "$(per_req $((s1 - s0)) "$n" 1 %.2f)"
			[ "$t" != direct ] && record cpu_us_close "$t" "$run" "$(per_req $((c1 - c0)) "$n" "$TICK_US" %.1f)"
		else
			if [ "$t" != direct ]; then
				record cpu_us_ka "$t" "$run" "$(per_req $((c1 - c0)) "$n" "$TICK_US" %.1f)"
				record cs_ka "$t" "$run" "$(per_req $((x1 - x0)) "$n" 1 %.4f)"
			fi
			read -r bb0 bi0 bk0 <<<"$b0"
			read -r bb1 bi1 bk1 <<<"$b1"
			record box_us_ka "$t" "$run" "$(per_req $((bb1 - bb0)) "$n" "$TICK_US" %.1f)"
			record box_kern_us_ka "$t" "$run" "$(per_req $((bk1 - bk0)) "$n" "$TICK_US" %.1f)"
			record box_idle_ka "$t" "$run" "$(awk -v b=$((bb1 - bb0)) -v i=$((bi1 - bi0)) \
				'BEGIN { printf "%.1f", (b + i > 0) ? 100 * i / (b + i) : 0 }')"
		fi
	fi
	[ "$err" != 0 ] && note "wrk $mode via $t run $run: $err errors"
	if [ "$mode" = keepalive ]; then
		record rps_keepalive "$t" "$run" "$rps"
		record p50_ms "$t" "$run" "$p50"
		record p99_ms "$t" "$run" "$p99"
	else
		record rps_close "$t" "$run" "$rps"
	fi
}

# BURST connections at once, each sends one request; unserved count and p99 time to answer.
measure_burst() { # target run
	local t=$1 run=$2 out served p50 p99 max
	run_bounded 40 "$WORK/burst" 127.0.0.1 "${HTTP_PORT[$t]}" "$BURST" 30000
	out=$(grep '^BURST' "$WORK/client.out")
	read -r _ served p50 p99 max <<<"$out"
	if [ -z "$served" ]; then
		record burst_unserved "$t" "$run" na
		record burst_p99_ms "$t" "$run" na
		note "burst via $t run $run failed"
		return
	fi
	[ "$served" -lt "$BURST" ] && note "burst via $t run $run: $served of $BURST answered"
	record burst_unserved "$t" "$run" $((BURST - served))
	LOAD_CONNS=$served
	record burst_p99_ms "$t" "$run" "$p99"
	sleep 1 # let the proxy close what the burst left
}

# Proxy RSS growth per idle proxied connection (each pinged once end to end first).
measure_rss() { # target run
	local t=$1 run=$2 before after ok client out=$WORK/hold-client.out deadline
	sleep 1 # let the freshly started proxy settle
	before=$(rss_kb "$t")
	: >"$out"
	"$PY" "$HERE/idle_hold.py" client 127.0.0.1 "${HOLD_PORT[$t]}" "$CONNS" 60 >"$out" 2>&1 &
	client=$!
	CLIENT=$client
	deadline=$((SECONDS + 70))
	while [ $SECONDS -lt $deadline ] && ! grep -q '^READY' "$out" && kill -0 $client 2>/dev/null; do
		sleep 0.2
	done
	ok=$(awk '/^READY/ {print $2}' "$out")
	sleep 1
	after=$(rss_kb "$t")
	kill $client 2>/dev/null
	wait $client 2>/dev/null
	CLIENT=""
	if [ -z "$ok" ] || [ "$ok" -lt $((CONNS * 9 / 10)) ]; then
		note "rss via $t run $run: only ${ok:-0} of $CONNS connections established"
		record rss_per_conn "$t" "$run" na
		return
	fi
	[ "$ok" -lt "$CONNS" ] && note "rss via $t run $run: $ok of $CONNS connections"
	LOAD_CONNS=$ok
	record rss_per_conn "$t" "$run" "$(( (after - before) * 1024 / ok ))"
}

# The order of targets in a round: the proxies rotated by the round number, the direct path last.
# Measured here: whichever target runs right after the direct path (two cores saturated at twice
# the proxies' request rate) loses up to 10 % of its req/s, also after a pause of a few seconds;
# a fixed order would hand that slot to the same proxy in every round.
order_for_run() { # run
	local run=$1 t proxies=() n i
	for t in $TARGETS; do [ "$t" = direct ] || proxies+=("$t"); done
	n=${#proxies[@]}
	for ((i = 0; i < n; i++)); do printf '%s ' "${proxies[$(( (i + run - 1) % n ))]}"; done
	case " $TARGETS " in *" direct "*) printf 'direct' ;; esac
}

# Which listener a measure loads, and the name of its fast-path proof row (fp_<measure>).
fp_of() { # fn args... -> "listener measure"
	case "$1 ${2:-}" in
	"measure_iperf 1") echo "iperf tput_p1" ;;
	"measure_iperf 8") echo "iperf tput_p8" ;;
	"measure_wrk keepalive") echo "http rps_keepalive" ;;
	"measure_wrk close") echo "http rps_close" ;;
	"measure_burst "*) echo "http burst" ;;
	"measure_rss "*) echo "hold rss_per_conn" ;;
	esac
}

# measure T RUN FN ARGS...: one measure; for buoy-sockmap, also how many connections moved to
# the kernel path during it (status before and after) and how many carried the load (the
# measure sets LOAD_CONNS), recorded as fp_<measure> and fpload_<measure>.
LOAD_CONNS=0
measure() {
	local t=$1 run=$2 fn=$3 lm before after b a; shift 3
	if [ "$t" != buoy-sockmap ]; then "$fn" "$t" "$run" "$@"; return; fi
	lm=$(fp_of "$fn" "$@")
	before=$(fast_path_totals)
	LOAD_CONNS=0
	"$fn" "$t" "$run" "$@"
	after=$(fast_path_totals)
	b=$(fp_total "$before" "${lm% *}") a=$(fp_total "$after" "${lm% *}")
	if [ "$b" = na ] || [ "$a" = na ]; then
		record "fp_${lm#* }" "$t" "$run" na
	else
		record "fp_${lm#* }" "$t" "$run" $((a - b))
	fi
	record "fpload_${lm#* }" "$t" "$run" "$LOAD_CONNS"
}

# Run one measure for every selected target; a dead target records n/a.
for_targets() { # run fn args...
	local run=$1 fn=$2 t; shift 2
	for t in $(order_for_run "$run"); do
		if [ "${UP[$t]}" = 1 ] && [ "$t" != direct ] && ! alive "$t"; then
			UP[$t]=0 WHY[$t]="exited during the run: $(tail -n 1 "$WORK/$t.log" 2>/dev/null | cut -c1-120)"
			note "$t ${WHY[$t]}"
		fi
		[ "${UP[$t]}" = 1 ] || continue
		measure "$t" "$run" "$fn" "$@"
	done
}

# ---------- main ----------
log "work dir $WORK, ports $BASE..$((BASE + 14)), runs $RUNS x ${DUR}s, $CONNS idle conns"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
start_origins
for t in $TARGETS; do
	if start_target "$t"; then UP[$t]=1 WHY[$t]=""; else note "$t: n/a (${WHY[$t]})"; stop "$t"; fi
done
# Whether the kernel column can run at all, and why not: report.py quotes this line.
case " $TARGETS " in *" buoy-sockmap "*)
	if [ "${UP[buoy-sockmap]}" = 1 ]; then
		note "buoy-sockmap: fast path at start: $(fast_path_state)"
	else
		note "buoy-sockmap: skipped: ${WHY[buoy-sockmap]}"
	fi ;;
esac
log "up: $(for t in $TARGETS; do [ "${UP[$t]}" = 1 ] && printf '%s ' "$t"; done)"

log "warm-up"
warm=$((DUR > 2 ? 2 : 1))
for t in $TARGETS; do
	[ "${UP[$t]}" = 1 ] || continue
	run_bounded 15 wrk -t1 -c10 -d"${warm}s" "http://127.0.0.1:${HTTP_PORT[$t]}/"
	run_bounded 15 iperf3 -c 127.0.0.1 -p "${IPERF_PORT[$t]}" -t 1 --connect-timeout 3000
done

for run in $(seq 1 "$RUNS"); do
	log "run $run/$RUNS: order $(order_for_run "$run")"
	note "round $run order: $(order_for_run "$run")"
	log "run $run/$RUNS: iperf3 -P1";  for_targets "$run" measure_iperf 1
	log "run $run/$RUNS: iperf3 -P8";  for_targets "$run" measure_iperf 8
	log "run $run/$RUNS: wrk keep-alive"; for_targets "$run" measure_wrk keepalive
	log "run $run/$RUNS: wrk close";   for_targets "$run" measure_wrk close
	log "run $run/$RUNS: burst of $BURST"; for_targets "$run" measure_burst
done
# The kernel column is only worth its name if its connections took the kernel path: report.py
# reads the fp_* rows and marks it "not on the kernel path" without them.
if [ "${UP[buoy-sockmap]}" = 1 ]; then
	note "buoy-sockmap: fast_path_total per listener after the rounds: $(fast_path_totals); $(fast_path_state)"
fi
# Memory last, each run on a freshly started proxy: pools and malloc arenas keep what earlier
# connections used, and would hide the cost of new ones.
for run in $(seq 1 "$RUNS"); do
	log "run $run/$RUNS: rss, $CONNS idle connections"
	for t in $TARGETS; do
		[ "$t" != direct ] && [ "${UP[$t]}" = 1 ] || continue
		stop "$t"
		if start_target "$t"; then
			measure "$t" "$run" measure_rss
		else
			UP[$t]=0
			note "$t: did not restart for rss: ${WHY[$t]}"
			stop "$t"
		fi
	done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
{
	echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "machine=$(nproc) CPUs, $(uname -sr), $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
	echo "load=$LOAD_START at start, $LOAD_END at end"
	echo "versions=$("$BUOY_BIN" version 2>/dev/null | head -n1 || echo "buoy ?"); $(haproxy -v 2>/dev/null | head -n1 | cut -d' ' -f1-3); $(nginx -v 2>&1 | cut -d' ' -f3); $(iperf3 --version | head -n1 | cut -d' ' -f1-2); wrk $(wrk -v 2>&1 | head -n1 | cut -d' ' -f2)"
	echo "settings=runs=$RUNS duration=${DUR}s wrk -t$WRK_THREADS -c$WRK_CONNS; idle conns=$CONNS; burst=$BURST; origin nginx workers=$ORIGIN_WORKERS"
	echo "command=BUOY_BIN=$BUOY_BIN bench/bench.sh $([ "$RUNS" = 1 ] && [ "$DUR" = 2 ] && echo --quick)"
} >"$WORK/meta.txt"
"$PY" "$HERE/report.py" "$RESULTS" "$NOTES" "$WORK/meta.txt" "$HERE/results-latest.md"
