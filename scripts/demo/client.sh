#!/bin/bash
# The demo's client: GET URL every 50 ms with curl, one line per request appended to LOG:
#   <start_us> <end_us> <curl_exit> <node>
# (times are $EPOCHREALTIME in microseconds; node is the "node" field of the answer, "-" if
# none; exit 99 = curl succeeded but the answer did not come from an apiserver).
# Bounded: stops after MAX requests, after MAX_SECONDS, or as soon as STOPFILE exists.
# usage: client.sh URL LOG STOPFILE MAX MAX_SECONDS
set -u
export LC_ALL=C   # "." in $EPOCHREALTIME
url=$1 log=$2 stop=$3 max=$4 max_s=$5
period_us=50000
us() { local t=$EPOCHREALTIME; echo "${t/./}"; }
begin=$(us)
n=0
while (( n < max )) && [[ ! -e $stop ]]; do
	t0=${EPOCHREALTIME/./}
	(( t0 - begin > max_s * 1000000 )) && break
	# --connect-timeout: a SYN sent to a VIP that is moving is lost; retry on a fresh
	# connection rather than wait for the kernel's 1 s SYN retransmit.
	body=$(curl -sk --connect-timeout 0.5 --max-time 1 "$url" 2>/dev/null)
	rc=$?
	t1=${EPOCHREALTIME/./}
	node=-
	[[ $body =~ \"node\":\"([A-Za-z0-9_-]+)\" ]] && node=${BASH_REMATCH[1]}
	[[ $rc == 0 && $node == - ]] && rc=99
	echo "$t0 $t1 $rc $node" >>"$log"
	n=$((n + 1))
	now=${EPOCHREALTIME/./}
	wait_us=$((t0 + period_us - now))
	(( wait_us > 0 )) && sleep "0.$(printf %06d "$wait_us")"
done
exit 0
