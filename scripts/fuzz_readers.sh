#!/bin/sh
# Fuzz the readers of user files with libFuzzer (clang, AddressSanitizer + UndefinedBehaviorSanitizer).
#   scripts/fuzz_readers.sh [TARGET] [SECONDS] [LIBFUZZER FLAGS...]   TARGET: dataset (default) | checkpoint | tableau
# libhdf5 1.10.8 crashes in H5HG_read on some damaged files within a few hundred inputs (results/robustness.md);
# add -fork=1 -ignore_crashes=1 to go on past it.
# Builds build-fuzz/fuzz_<target> from tests/fuzz/fuzz_readers.cpp and the I/O sources, makes a seed corpus with
# build/trk (or $TRK), and runs for SECONDS (default 60). Crashes are written to build-fuzz/crash-*.
# The CTest suite has a bounded, seeded version of the same run (tests/io/fuzz_readers_test.cpp).
#
#   scripts/fuzz_readers.sh outputs      (as root) the output cases that need a mount or mknod, by hand:
# a device node and a FIFO at --out are refused and left as they were; a full tmpfs and a file-size limit give one
# error line and exit 2 (before: SIGSEGV in libhdf5's shutdown, exit 139; SIGXFSZ, exit 153), no temporary file,
# the earlier output untouched. Prints one line per check and exits 1 if any failed. (The CTest suite runs the same
# checks in Robustness.* when it runs as root.)
set -eu
target=${1:-dataset}
seconds=${2:-60}
[ $# -gt 2 ] && shift 2 || set --
root=$(cd "$(dirname "$0")/.." && pwd)
trk=${TRK:-$root/build/trk}

if [ "$target" = outputs ]; then
  [ "$(id -u)" = 0 ] || { echo "outputs: needs root (mknod, mount)"; exit 2; }
  work=$(mktemp -d)
  failed=0
  check() {  # check NAME EXPECTED_CODE ACTUAL_CODE CONDITION...
    name=$1 expected=$2 actual=$3
    shift 3
    if [ "$actual" = "$expected" ] && "$@"; then echo "ok    $name"; else echo "FAIL  $name (exit $actual)"; failed=1; fi
  }
  gen="$trk generate --train-steps 10 --test-steps 10 --quiet"
  mknod "$work/null" c 1 3
  code=0; $gen --out "$work/null" 2>"$work/err" || code=$?
  check "device node at --out refused, left a device" 2 $code test -c "$work/null"
  mkfifo "$work/fifo"
  code=0; $gen --out "$work/fifo" 2>"$work/err" || code=$?
  check "FIFO at --out refused, left a FIFO" 2 $code test -p "$work/fifo"
  mkdir "$work/s"
  mount -t tmpfs -o size=64k tmpfs "$work/s"
  $gen --out "$work/s/a.h5" >/dev/null
  cp "$work/s/a.h5" "$work/a.h5"
  code=0; $trk generate --h 0.2 --train-steps 5000 --quiet --out "$work/s/b.h5" 2>"$work/err" || code=$?
  check "disk full: generate exits 2 with one line" 2 $code test "$(wc -l <"$work/err")" = 1
  code=0; $trk report stability --scheme dopri8 --grid 1001 --out "$work/s" 2>"$work/err" || code=$?
  check "disk full: report stability exits 2 with one line" 2 $code test "$(wc -l <"$work/err")" = 1
  check "disk full: nothing left but the earlier output, unchanged" 0 0 \
    sh -c "[ \"\$(ls -A '$work/s')\" = a.h5 ] && cmp -s '$work/s/a.h5' '$work/a.h5'"
  umount "$work/s"
  code=0; sh -c "ulimit -f 64; exec $trk generate --train-steps 5000 --quiet --out '$work/big.h5'" 2>"$work/err" || code=$?
  check "file-size limit: exit 2, one line, no temporary" 2 $code \
    sh -c "[ \"\$(wc -l <'$work/err')\" = 1 ] && ! ls -A '$work' | grep -q trk-tmp && [ ! -e '$work/big.h5' ]"
  rm -rf "$work"
  exit $failed
fi
out=$root/build-fuzz
mkdir -p "$out/corpus_$target"
macro=$(echo "$target" | tr a-z A-Z)
if [ ! -x "$out/fuzz_$target" ] || [ "$root/tests/fuzz/fuzz_readers.cpp" -nt "$out/fuzz_$target" ]; then
  echo "building $out/fuzz_$target"
  clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -DTRK_FUZZ_$macro -DEIGEN_DONT_PARALLELIZE \
    -I"$root/src" -isystem /usr/include/eigen3 -isystem /usr/include/hdf5/serial \
    "$root/tests/fuzz/fuzz_readers.cpp" "$root"/src/trk/io/dataset_io.cpp "$root"/src/trk/io/hdf5_util.cpp \
    "$root"/src/trk/io/json_io.cpp "$root"/src/trk/io/atomic_file.cpp "$root"/src/trk/io/checkpoint_io.cpp \
    "$root"/src/trk/tableau/*.cpp \
    -L/usr/lib/x86_64-linux-gnu/hdf5/serial -lhdf5 -lfmt -o "$out/fuzz_$target"
fi
corpus=$out/corpus_$target
if [ -z "$(ls -A "$corpus")" ]; then
  case $target in
    dataset) "$trk" generate --h 0.1 --train-steps 40 --test-steps 10 --quiet --out "$corpus/seed.h5" >/dev/null ;;
    checkpoint)
      "$trk" generate --h 0.1 --train-steps 40 --test-steps 10 --quiet --out "$out/seed_data.h5" >/dev/null
      rm -rf "$out/seed_run"
      "$trk" identify --data "$out/seed_data.h5" --solver trk2 --iterations 1000000 --meet-iterations 0 --substeps-iterations 0 \
        --checkpoint-every 10 --quiet --out "$out/seed_run" >/dev/null 2>&1 &
      pid=$!; i=0
      while [ ! -f "$out/seed_run/checkpoint.h5" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
      kill -KILL $pid; wait $pid || true
      cp "$out/seed_run/checkpoint.h5" "$corpus/seed.h5" ;;
    tableau) printf '%s' '{"A": [[0,0,0,0],[0.5,0,0,0],[0,0.5,0,0],[0,0,1,0]], "b": [0.1666666666666667,0.3333333333333333,0.3333333333333333,0.1666666666666667]}' > "$corpus/seed.json" ;;
  esac
fi
cd "$out"
ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 "./fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 "$@" "$corpus"
