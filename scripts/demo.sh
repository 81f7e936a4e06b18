#!/bin/bash
# buoy demo: the whole HA scenario of the reference keepalived+HAProxy setups, on this machine,
# inside network namespaces. Two buoy load balancers (lb1, lb2) share the VIP 198.18.0.100 and
# balance over three kube-apiserver stand-ins (nginx with TLS on :6443); a client calls
# https://198.18.0.100:6443/version every 50 ms while we break things:
#   1. the VIP is on lb1, requests rotate over api1..api3
#   2. api2 turns unready (/readyz -> 500): it leaves the rotation, the client sees no error
#   3. lb1 loses its link: the VIP moves to lb2 (we measure the gap in the client's answers)
#   4. lb1 comes back (preempt moves the VIP back, unless --no-preempt); api2 recovers
#
# usage: sudo scripts/demo.sh [--keep] [--no-preempt]
#        sudo scripts/demo.sh --down ID        remove a topology left by --keep
#
# Network rules: addresses from 198.18.0.0/15 only, namespaces named
# buoyt-<pid>-<role>, nothing touches the root namespace's interfaces, routes or firewall, every
# traffic loop is bounded, and everything is removed on exit, on failure and on Ctrl-C/TERM.
# Non-interactive; exits 1 if any step's expectation fails.
set -u
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
BUOY=${BUOY_BIN:-$REPO/buoy}
CLIENT_SH=$HERE/demo/client.sh

VIP=198.18.0.100
LB1=198.18.0.11 LB2=198.18.0.12
declare -A API_IP=([api1]=198.18.0.21 [api2]=198.18.0.22 [api3]=198.18.0.23)
CLIENT=198.18.0.50
URL=https://$VIP:6443/version

# Timing. Health: a check every 300ms, 2 fails -> down, 2 oks -> up. VRRP: adverts every
# 200ms, so a backup takes over ~0.7s after the master goes silent.
HEALTH_INTERVAL=300ms
WINDOW=3                 # seconds of client traffic observed per step
FAILOVER_BOUND_MS=3000   # longest acceptable gap in answers when lb1's link is cut
PREEMPT_BOUND_MS=2000    # longest acceptable gap when the VIP moves back to lb1

KEEP=0 PREEMPT=true
ID= PFX= DIR= KEEPER=

# ---------------------------------------------------------------------------------------------
# Output

if [ -t 1 ]; then B=$'\e[1m' G=$'\e[32m' R=$'\e[31m' D=$'\e[2m' N=$'\e[0m'; else B= G= R= D= N=; fi
say()   { printf '%s\n' "$*"; }
step()  { printf '\n%s%s%s\n' "$B" "$*" "$N"; }
info()  { printf '      %s\n' "$*"; }
ok()    { printf '   %sok%s %s\n' "$G" "$N" "$*"; }
FAILS=0
bad()   { printf '   %sFAIL%s %s\n' "$R" "$N" "$*"; FAILS=$((FAILS + 1)); }
check() { local msg=$1; shift; if "$@"; then ok "$msg"; else bad "$msg"; fi; }
die()   { printf 'demo: %s\n' "$*" >&2; exit 1; }
indent() { sed 's/^/      /'; }

usage() {
	sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'
}

# ---------------------------------------------------------------------------------------------
# Removing a topology (also `--down ID` for one left by --keep)

teardown() {   # teardown ID
	local id=$1 ns pid
	local dir=/tmp/buoy-demo-$id
	# our own processes first (recorded pids), politely, so buoy hands the VIP over and exits
	if [ -f "$dir/pids" ]; then
		while read -r pid; do kill -TERM "$pid" 2>/dev/null; done <"$dir/pids"
		sleep 0.3
	fi
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^buoyt-$id-"); do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
	done
	case $dir in /tmp/buoy-demo-[0-9]*) rm -rf "$dir" ;; esac
}

CLEANED=0 DONE=0
cleanup() {
	[ $CLEANED = 1 ] && return
	CLEANED=1
	[ -n "$ID" ] || return   # nothing was created yet
	touch "$DIR/client.stop" 2>/dev/null
	if [ $KEEP = 1 ] && [ $DONE = 1 ]; then
		return
	fi
	teardown "$ID"
}

on_signal() {
	trap '' INT TERM HUP
	printf '\ndemo: interrupted (%s), removing everything\n' "$1" >&2
	cleanup
	exit 130
}

# ---------------------------------------------------------------------------------------------
# Arguments and prerequisites

while [ $# -gt 0 ]; do
	case $1 in
		--keep) KEEP=1 ;;
		--no-preempt) PREEMPT=false ;;
		--down)
			[ $# -ge 2 ] || die "--down needs the ID printed by --keep"
			[[ $2 =~ ^[0-9]+$ ]] || die "--down: ID must be a number"
			[ "$(id -u)" = 0 ] || die "needs root (try sudo)"
			teardown "$2"
			say "demo: removed buoyt-$2-* and /tmp/buoy-demo-$2"
			exit 0 ;;
		-h|--help) usage; exit 0 ;;
		*) usage >&2; exit 2 ;;
	esac
	shift
done

[ "$(id -u)" = 0 ] || die "needs root for network namespaces (try: sudo make demo)"
for c in ip nginx openssl curl awk; do
	command -v "$c" >/dev/null || die "$c is missing (sudo scripts/deps test installs it)"
done
[ -x "$BUOY" ] || die "no buoy binary at $BUOY (run make, or set BUOY_BIN)"

# The run's ID (namespaces buoyt-ID-*, /tmp/buoy-demo-ID) is the pid of an idle "keeper" process
# that lives as long as the topology: the test suite removes buoyt-<pid>-* namespaces whose pid
# is dead, so a topology left by --keep must not carry the pid of this (exited) script.
setsid sleep infinity </dev/null >/dev/null 2>&1 &
KEEPER=$!
disown $KEEPER
ID=$KEEPER PFX="buoyt-$KEEPER-" DIR=/tmp/buoy-demo-$KEEPER

trap cleanup EXIT
trap 'on_signal INT' INT
trap 'on_signal TERM' TERM
trap 'on_signal HUP' HUP

mkdir -m 0700 "$DIR" || { kill "$KEEPER"; KEEPER=; die "cannot create $DIR"; }
echo "$KEEPER" >"$DIR/pids"

# ---------------------------------------------------------------------------------------------
# Helpers

nsx() { local r=$1; shift; ip netns exec "$PFX$r" "$@"; }
now_us() { local t=$EPOCHREALTIME; echo "${t/./}"; }
ms_since() { echo $(( ($(now_us) - $1) / 1000 )); }
pause() { sleep "$1" & wait $!; }   # a signal's trap runs at once, not after the sleep
fmt_s() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }   # ms -> "s.mmm"

# wait_for SECONDS CMD...: poll CMD every 20ms; 0 as soon as it succeeds, 1 on timeout
wait_for() {
	local limit=$(( $(now_us) + $1 * 1000000 )); shift
	while ! "$@"; do
		(( $(now_us) > limit )) && return 1
		sleep 0.02
	done
}

# start a long-running program inside a namespace, detached (own session), logs to a file
spawn() {   # spawn ROLE LOGFILE CMD...
	local r=$1 log=$2; shift 2
	ip netns exec "$PFX$r" setsid "$@" </dev/null >>"$log" 2>&1 &
	echo $! >>"$DIR/pids"
	disown $!   # teardown kills it: no "Killed" job notice from bash
}

# The veth pairs are made inside the switch namespace: the root namespace is never touched.
add_switch() {
	ip netns add "${PFX}sw" &&
	nsx sw ip link set lo up &&
	nsx sw ip link add br0 type bridge forward_delay 0 stp_state 0 mcast_snooping 0 &&
	nsx sw ip link set br0 up
}

add_host() {   # add_host ROLE IPV4: namespace + cable (veth) to the switch + address
	local r=$1 ip=$2
	ip netns add "$PFX$r" &&
	nsx "$r" ip link set lo up &&
	nsx sw ip link add "p-$r" type veth peer name eth0 netns "$PFX$r" &&
	nsx sw ip link set "p-$r" master br0 up &&
	nsx "$r" ip addr add "$ip/24" dev eth0 &&
	nsx "$r" ip link set eth0 up
}

has_vip() { ip -n "$PFX$1" -o addr show dev eth0 2>/dev/null | grep -q " $VIP/"; }
vip_holder() {
	local h=""
	has_vip lb1 && h=lb1
	has_vip lb2 && h="${h:+$h+}lb2"
	echo "${h:-nobody}"
}
# Split brain watch: the VIP on both balancers in two samples in a row (20 ms apart) counts;
# one sample may catch the few milliseconds a hand-over takes between two namespaces.
BOTH_SEEN=0 BOTH_RUN=0
holder_is() {
	local h; h=$(vip_holder)
	if [ "$h" = lb1+lb2 ]; then
		BOTH_RUN=$((BOTH_RUN + 1))
		[ $BOTH_RUN -ge 2 ] && BOTH_SEEN=1
	else
		BOTH_RUN=0
	fi
	[ "$h" = "$1" ]
}

status() { "$BUOY" status --socket "$DIR/$1.sock" 2>&1; }
vrrp_state() { status "$1" | awk '$1 == "apiserver" && NF >= 6 && $3 ~ /\// {print $2; exit}'; }
vrrp_is() { [ "$(vrrp_state "$1")" = "$2" ]; }
server_state() {   # server_state LB API
	status "$1" | awk -v a="${API_IP[$2]}:6443" '$2 == a {print $3; exit}'
}
server_is() { [ "$(server_state "$1" "$2")" = "$3" ]; }
all_up() { local a; for a in api1 api2 api3; do server_is "$1" $a up || return 1; done; }
vrrp_rows() {   # vrrp_rows LB...: the VRRP table rows of each node, one header
	local lb hdr=1
	for lb in "$@"; do
		status "$lb" | awk -v n="$lb" -v h=$hdr '
			function row(a) { printf "%-5s %-10s %-7s %-8s %-12s %-6s %-16s %s\n", a, $1, $2, $3, $4, $5, $6, $7 }
			$1 == "VRRP" && h { row("NODE") }
			$1 == "apiserver" && $3 ~ /\// { row(n) }'
		hdr=0
	done
}
server_rows() { status "$1" | awk '$1 == "BACKEND" && $2 == "SERVER" {p=1} p'; }

# stats FROM_US TO_US: the client's requests that started in [FROM, TO)
#   -> "sent failed gap_ms api1 api2 api3 first_nodes"; gap_ms is the longest time between two
#   consecutive good answers (by the time they arrived), counting from the last one before FROM
stats() {
	awk -v a="$1" -v b="$2" '
		$1 < a && $3 == 0 { last = $2 }   # the gap runs from the last answer before FROM
		$1 >= a && $1 < b {
			sent++
			if ($3 == 0) {
				c[$4]++
				if (last) { g = $2 - last; if (g > gap) gap = g }
				last = $2
				if (nf < 9) { first = first (nf ? "," : "") $4; nf++ }
			} else fail++
		}
		END { printf "%d %d %d %d %d %d %s\n", sent, fail, gap / 1000, c["api1"], c["api2"],
		      c["api3"], (first == "" ? "-" : first) }' "$DIR/client.log"
}
counts_line() { echo "api1 $1, api2 $2, api3 $3"; }
client_answered_since() {   # at least one good answer that started after $1
	awk -v a="$1" '$1 >= a && $3 == 0 {f=1} END {exit !f}' "$DIR/client.log"
}

# ---------------------------------------------------------------------------------------------
# Setup

T_START=$(now_us)
say "${B}buoy demo${N}: 2 load balancers, 3 apiservers and a client in network namespaces ${PFX}*"
say "${D}      (state and logs in $DIR)${N}"

add_switch || die "could not create the switch namespace"
for h in lb1:$LB1 lb2:$LB2 api1:198.18.0.21 api2:198.18.0.22 api3:198.18.0.23 client:$CLIENT; do
	add_host "${h%%:*}" "${h#*:}" || die "could not create namespace ${PFX}${h%%:*}"
done
info "topology: lb1 $LB1, lb2 $LB2, api1..3 198.18.0.21-23, client $CLIENT, one bridge"

# one self-signed certificate for all three apiservers, made now (nothing is shipped)
mkdir "$DIR/pki"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
	-keyout "$DIR/pki/apiserver.key" -out "$DIR/pki/apiserver.crt" -subj "/CN=kube-apiserver" \
	-addext "subjectAltName=IP:$VIP,IP:198.18.0.21,IP:198.18.0.22,IP:198.18.0.23,DNS:kubernetes" \
	>/dev/null 2>&1 || die "openssl could not make a certificate"

start_apiserver() {   # nginx with TLS: /readyz 200 while www/ready exists (else 500), /version
	local a=$1 ip=${API_IP[$1]} d=$DIR/$1
	mkdir -p "$d/www" "$d/tmp"
	echo ok >"$d/www/ready"
	cat >"$d/nginx.conf" <<-EOF
	daemon off;
	master_process off;
	worker_processes 1;
	pid $d/nginx.pid;
	error_log $d/error.log warn;
	events { worker_connections 512; }
	http {
	    access_log off;
	    client_body_temp_path $d/tmp; proxy_temp_path $d/tmp; fastcgi_temp_path $d/tmp;
	    uwsgi_temp_path $d/tmp; scgi_temp_path $d/tmp;
	    server {
	        listen $ip:6443 ssl;
	        ssl_certificate $DIR/pki/apiserver.crt;
	        ssl_certificate_key $DIR/pki/apiserver.key;
	        root $d/www;
	        default_type text/plain;
	        location = /readyz { try_files /ready =500; }
	        location = /livez { return 200 "ok\n"; }
	        location = /version {
	            default_type application/json;
	            return 200 '{"major":"1","minor":"31","gitVersion":"v1.31.0-demo","node":"$a"}\n';
	        }
	    }
	}
	EOF
	spawn "$a" "$d/nginx.out" nginx -p "$d" -c "$d/nginx.conf" -e "$d/error.log"
}
for a in api1 api2 api3; do start_apiserver $a; done

write_buoy_config() {   # write_buoy_config NAME ADDRESS PRIORITY
	cat >"$DIR/$1.yaml" <<-EOF
	# $1 of the demo (scripts/demo.sh); see examples/lb-pair.yaml for a commented version.
	node: $1
	workers: 1
	log: { level: info }
	control: { socket: $DIR/$1.sock }
	metrics: { listen: "127.0.0.1:9254" }
	vrrp:
	  - name: apiserver
	    interface: eth0
	    router_id: 51
	    priority: $3
	    advert_interval: 200ms
	    preempt: $PREEMPT
	    virtual_ips: [$VIP/24]
	    track: { backends: [apiservers] }   # no healthy apiserver here -> give the VIP away
	listeners:
	  - { name: apiserver, bind: "$VIP:6443", backend: apiservers }
	backends:
	  - name: apiservers
	    balance: roundrobin
	    health: { type: https, path: /readyz, interval: $HEALTH_INTERVAL, timeout: 500ms, rise: 2, fall: 2 }
	    servers:
	      - { address: "198.18.0.21:6443" }
	      - { address: "198.18.0.22:6443" }
	      - { address: "198.18.0.23:6443" }
	EOF
	"$BUOY" check -c "$DIR/$1.yaml" >/dev/null || die "buoy check rejected $DIR/$1.yaml"
}
write_buoy_config lb1 $LB1 110
write_buoy_config lb2 $LB2 100

apiserver_ready() { nsx "$1" curl -sk --max-time 1 -o /dev/null "https://${API_IP[$1]}:6443/readyz"; }
for a in api1 api2 api3; do
	wait_for 10 apiserver_ready $a || die "nginx on $a did not start: $(cat "$DIR/$a/error.log" 2>/dev/null)"
done
info "api1..api3: nginx with TLS on :6443, /readyz and /version (self-signed certificate)"

started() { grep -q 'msg="started"' "$DIR/$1.log" 2>/dev/null; }
# lb1 first: two balancers started together elect by priority skew alone (8 ms apart at
# 110/100), and with --no-preempt the one that happened to start first keeps the VIP
spawn lb1 "$DIR/lb1.log" "$BUOY" run -c "$DIR/lb1.yaml"
wait_for 10 started lb1 && wait_for 5 holder_is lb1 || true   # step 1 reports it if not
spawn lb2 "$DIR/lb2.log" "$BUOY" run -c "$DIR/lb2.yaml"
wait_for 10 started lb1 && wait_for 10 started lb2 || {
	tail -n 20 "$DIR/lb1.log" "$DIR/lb2.log" >&2; die "buoy did not start"; }
info "lb1 (priority 110) and lb2 (priority 100): buoy, VIP $VIP/24, https /readyz checks,"
info "track.backends, preempt: $PREEMPT  (config: $DIR/lb1.yaml)"

# ---------------------------------------------------------------------------------------------
step "[1/4] The VIP is on lb1; requests rotate over api1..api3"

if wait_for 10 holder_is lb1 && wait_for 5 all_up lb1 && wait_for 5 all_up lb2; then
	ok "VIP $VIP is on lb1 only; both balancers see 3/3 apiservers ready"
else
	bad "VIP on lb1 only with all apiservers up (VIP: $(vip_holder), lb1 status below)"
	status lb1 | indent
fi
status lb1 | indent

: >"$DIR/client.log"
spawn client "$DIR/client.out" "$CLIENT_SH" "$URL" "$DIR/client.log" "$DIR/client.stop" 3000 150
T1=$(now_us)
wait_for 5 client_answered_since "$T1" || true
pause $WINDOW
read -r sent fail gap c1 c2 c3 first < <(stats "$T1" "$(now_us)")
info "client: $sent requests to $URL, $fail failed; answered by $(counts_line "$c1" "$c2" "$c3")"
info "first answers in order: $first"
check "every apiserver answers and no request fails" \
	test "$fail" = 0 -a "$c1" -gt 0 -a "$c2" -gt 0 -a "$c3" -gt 0

# ---------------------------------------------------------------------------------------------
step "[2/4] api2 turns unready (/readyz -> 500): it leaves the rotation, the client sees no error"

T2=$(now_us)
rm -f "$DIR/api2/www/ready"
info "api2's /readyz now answers 500 (its /version still works: a half-alive apiserver)"
if wait_for 10 server_is lb1 api2 down; then
	ok "lb1 took api2 out after $(fmt_s "$(ms_since "$T2")") s (2 failed checks, one every $HEALTH_INTERVAL)"
else
	bad "lb1 did not take api2 out"
fi
wait_for 3 server_is lb2 api2 down || bad "lb2 did not take api2 out"
server_rows lb1 | indent
T2b=$(now_us)
pause $WINDOW
read -r sent fail gap c1 c2 c3 first < <(stats "$T2b" "$(now_us)")
read -r _ fail_all _ < <(stats "$T2" "$(now_us)")
info "client since api2 left: $sent requests, $fail failed; answered by $(counts_line "$c1" "$c2" "$c3")"
check "api2 gets nothing, api1/api3 share the load, no request failed during the whole step" \
	test "$c2" = 0 -a "$c1" -gt 0 -a "$c3" -gt 0 -a "$fail_all" = 0

# ---------------------------------------------------------------------------------------------
step "[3/4] lb1 loses its link: the VIP moves to lb2"

T3=$(now_us)
nsx sw ip link set p-lb1 down
info "lb1's cable is cut (its switch port is down)"
if wait_for 10 holder_is lb2; then
	ok "VIP $VIP is on lb2 after $(fmt_s "$(ms_since "$T3")") s (3 missed adverts of 200ms + skew)"
else
	bad "VIP did not move to lb2 (holder: $(vip_holder))"
fi
wait_for 5 client_answered_since "$(now_us)" || true
pause $WINDOW
read -r sent fail gap3 c1 c2 c3 first < <(stats "$T3" "$(now_us)")
info "client: $sent requests since the cut, $fail failed (sent while the VIP was moving: curl gives"
info "up after its 0.5 s connect timeout, so the client's gap is a little longer than the move)"
info "${B}longest gap between two answers: $(fmt_s "$gap3") s${N}; now answered by $(counts_line "$c1" "$c2" "$c3")"
info "lb1 is in fault (no carrier), lb2 is master:"
vrrp_rows lb2 lb1 | indent
check "lb2 serves; the gap stays under $(fmt_s $FAILOVER_BOUND_MS) s" \
	test "$gap3" -gt 0 -a "$gap3" -lt $FAILOVER_BOUND_MS -a "$(vip_holder)" = lb2
read -r sent_l fail_l _ < <(stats "$(( $(now_us) - 1500000 ))" "$(now_us)")
check "after the move, requests succeed again ($sent_l in the last 1.5 s, $fail_l failed)" \
	test "$sent_l" -gt 0 -a "$fail_l" = 0

# ---------------------------------------------------------------------------------------------
step "[4/4] lb1 comes back; then api2 recovers"

T4=$(now_us)
nsx sw ip link set p-lb1 up
info "lb1's cable is back. It must first see its apiservers healthy again (track.backends)"
if [ "$PREEMPT" = true ]; then
	if wait_for 10 holder_is lb1; then
		ok "preempt: true -> lb1 (priority 110) took the VIP back after $(fmt_s "$(ms_since "$T4")") s"
	else
		bad "VIP did not move back to lb1 (holder: $(vip_holder))"
	fi
	wait_for 5 client_answered_since "$(now_us)" || true
	pause 1
	read -r sent fail gap4 _ < <(stats "$T4" "$(now_us)")
	info "client: $sent requests since lb1 came back, $fail failed, longest gap $(fmt_s "$gap4") s"
	check "the move back costs at most $(fmt_s $PREEMPT_BOUND_MS) s" test "$gap4" -lt $PREEMPT_BOUND_MS
	MASTER=lb1
else
	if wait_for 10 vrrp_is lb1 backup; then
		ok "lb1 is healthy again and waits as backup ($(fmt_s "$(ms_since "$T4")") s)"
	else
		bad "lb1 did not become backup (state: $(vrrp_state lb1))"
	fi
	pause 2
	check "preempt: false -> the VIP stays on lb2 (no second move)" holder_is lb2
	read -r sent fail gap4 _ < <(stats "$T4" "$(now_us)")
	check "no request failed while lb1 came back ($sent sent)" test "$fail" = 0
	MASTER=lb2
fi
vrrp_rows lb1 lb2 | indent

T5=$(now_us)
echo ok >"$DIR/api2/www/ready"
info "api2's /readyz answers 200 again"
if wait_for 10 server_is $MASTER api2 up; then
	ok "$MASTER put api2 back after $(fmt_s "$(ms_since "$T5")") s (2 good checks)"
else
	bad "$MASTER did not put api2 back"
fi
T5b=$(now_us)
pause $WINDOW
read -r sent fail gap c1 c2 c3 first < <(stats "$T5b" "$(now_us)")
read -r _ fail_all _ < <(stats "$T5" "$(now_us)")
info "client: $sent requests, $fail failed; answered by $(counts_line "$c1" "$c2" "$c3")"
check "api2 is back in the rotation and nothing failed" \
	test "$c1" -gt 0 -a "$c2" -gt 0 -a "$c3" -gt 0 -a "$fail_all" = 0
server_rows $MASTER | indent

# ---------------------------------------------------------------------------------------------
check "the VIP was never on both balancers (sampled every 20 ms while it moved)" \
	test $BOTH_SEEN = 0
touch "$DIR/client.stop"
sleep 0.2
read -r total tfail _ < <(stats 0 99999999999999999)
longest=$gap3
[ "${gap4:-0}" -gt "$longest" ] && longest=$gap4
say ""
if [ $FAILS = 0 ]; then verdict="all steps passed"; else verdict="$FAILS expectation(s) FAILED"; fi
say "Summary: $total requests sent, $tfail failed, longest gap $(fmt_s "$longest") s;" \
	"$verdict ($(( ($(now_us) - T_START) / 1000000 )) s)"

DONE=1
if [ $KEEP = 1 ]; then
	cat <<-EOF

	The topology stays up (--keep). Poke at it:
	  ip netns exec ${PFX}client curl -sk $URL
	  $BUOY status --socket $DIR/lb1.sock          # or lb2.sock; --json for the document
	  ip netns exec ${PFX}lb1 curl -s 127.0.0.1:9254/metrics | grep -E 'vrrp_state|server_up'
	  ip -n ${PFX}lb1 addr show dev eth0                         # who holds $VIP
	  rm $DIR/api2/www/ready                       # api2 /readyz -> 500 (echo ok > it: back)
	  ip -n ${PFX}sw link set p-lb1 down                          # cut lb1's cable (up: back)
	  kill -TERM \$(ip netns pids ${PFX}lb1)                      # stop lb1's buoy
	  tail -f $DIR/lb1.log                         # buoy's log (key=value lines)
	Remove it all:
	  sudo $0 --down $ID
	EOF
fi
if [ $FAILS != 0 ]; then
	if [ $KEEP = 1 ]; then where="in $DIR"; else where="removed on exit; --keep keeps them"; fi
	say "demo: $FAILS expectation(s) failed. The end of buoy's logs ($where):"
	for f in lb1 lb2; do say "--- $f.log"; tail -n 15 "$DIR/$f.log"; done
	exit 1
fi
exit 0
