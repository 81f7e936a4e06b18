#!/bin/sh
# make fuzz [FUZZ_SECONDS=60] [ARGS="target..."]: builds every fuzz/fuzz_*.c as a libFuzzer
# binary (clang, -fsanitize=fuzzer,address,undefined) over a sanitized libbuoy.a and runs each for
# FUZZ_SECONDS (0: only replay the committed corpus, fast; CI uses 30). Seeds come from
# fuzz/corpus/<target>/ (read-only); new inputs go to build/fuzz/corpus/<target>/. A crash leaves
# build/fuzz/artifacts/<target>-crash-* and fails the run; add it to the corpus and a
# tests/unit/test_regress_*.c once fixed.
set -eu
cd "$(dirname "$0")/.."
scripts/deps fuzz

SECONDS_EACH=${FUZZ_SECONDS:-60}
OUT=build/fuzz
SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
PKGS="libcyaml yaml-0.1 libmnl openssl libnftables json-c"

# The library, instrumented. The Makefile's own rules, another build dir and compiler.
make -s -j2 CC=clang BUILD=$OUT/obj OPT="-O1 -g" SAN="$SAN" $OUT/obj/libbuoy.a

targets=${*:-$(ls fuzz/fuzz_*.c | sed 's|fuzz/||; s|\.c$||')}
CFLAGS="-std=gnu11 -Wall -Wextra -Werror -O1 -g -D_GNU_SOURCE -Isrc -Ifuzz $(pkg-config --cflags $PKGS)"
LIBS="$(pkg-config --libs $PKGS) -lpthread"
mkdir -p $OUT/bin $OUT/artifacts
for t in $targets; do
  [ -f fuzz/$t.c ] || { echo "fuzz: no such target fuzz/$t.c" >&2; exit 2; }
  clang $CFLAGS -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -fno-omit-frame-pointer -o $OUT/bin/$t fuzz/$t.c $OUT/obj/libbuoy.a $LIBS
done

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:symbolize=1:quarantine_size_mb=64
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
fail=""
for t in $targets; do
  seeds=fuzz/corpus/$t
  work=$OUT/corpus/$t
  mkdir -p "$seeds" "$work"
  dict=""
  [ -f fuzz/$t.dict ] && dict="-dict=fuzz/$t.dict"
  if [ "$SECONDS_EACH" = 0 ]; then
    mode="-runs=0"
  else
    mode="-max_total_time=$SECONDS_EACH"
  fi
  echo "== fuzz $t ($([ "$SECONDS_EACH" = 0 ] && echo "corpus replay" || echo "${SECONDS_EACH}s"))"
  log=$OUT/$t.log
  # -timeout: one input taking >10 s is a hang; -rss_limit_mb: a leak or a huge allocation.
  if $OUT/bin/$t $mode -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
      -print_final_stats=1 -artifact_prefix=$OUT/artifacts/$t- $dict "$work" "$seeds" >"$log" 2>&1; then
    grep -E "^stat::(number_of_executed_units|new_units_added|peak_rss_mb)|^Done" "$log" | tr '\n' ' '
    echo
  else
    echo "FAILED: $t (log $log; artifacts: $(ls $OUT/artifacts/$t-* 2>/dev/null | tr '\n' ' '))"
    grep -E "ERROR|SUMMARY|invariant|runtime error" "$log" | head -5
    fail="$fail $t"
  fi
done
if [ -n "$fail" ]; then
  echo "fuzz: failures:$fail" >&2
  exit 1
fi
echo "fuzz: all targets clean"
