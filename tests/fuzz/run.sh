#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) in build-fuzz/ and runs
# each for a bounded time from its committed seed corpus
# (tests/fuzz/corpus/<target>/).  Fails on any crash, leak, timeout or
# out-of-memory; the reproducer is left in build-fuzz/artifacts/<target>/.
#
#   tests/fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]      (default 60, all targets)
#
# Rerun one crash:  build-fuzz/<target> build-fuzz/artifacts/<target>/crash-...
# Figures (execs, corpus size) go to build-fuzz/fuzz-stats.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_PER_TARGET="${1:-60}"
shift || true
BUILD=build-fuzz
JOBS="${JOBS:-2}"

if ! command -v clang++ >/dev/null || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  echo "installing clang and libclang-rt-dev"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang libclang-rt-dev
fi

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for src in tests/fuzz/fuzz_*.cc; do targets+=("$(basename "$src" .cc)"); done
fi

cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNASD_FUZZ=ON \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >/dev/null
cmake --build "$BUILD" -j"$JOBS" --target "${targets[@]}"

: > "$BUILD/fuzz-stats.txt"
failed=0
for t in "${targets[@]}"; do
  work="$BUILD/corpus-work/$t"       # grows during the run; the seeds stay untouched
  art="$BUILD/artifacts/$t/"
  mkdir -p "$work" "$art"
  seeds="tests/fuzz/corpus/$t"
  [ -d "$seeds" ] || seeds="$work"
  echo "== $t: ${SECONDS_PER_TARGET}s"
  log="$BUILD/$t.log"
  if ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     "$BUILD/$t" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 \
       -max_len=70000 -print_final_stats=1 -artifact_prefix="$art" "$work" "$seeds" >"$log" 2>&1; then
    execs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
    echo "$t: ok, ${execs:-?} inputs executed in ${SECONDS_PER_TARGET}s, corpus $(ls "$work" | wc -l) files" \
      | tee -a "$BUILD/fuzz-stats.txt"
  else
    echo "$t: FAILED (log: $log, reproducer in $art)" | tee -a "$BUILD/fuzz-stats.txt"
    grep -E 'ERROR|SUMMARY|invariant failed|runtime error' "$log" | head -20 || true
    failed=1
  fi
done
exit $failed
