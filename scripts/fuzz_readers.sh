#!/bin/sh
# Fuzz the readers of user files with libFuzzer (clang, AddressSanitizer + UndefinedBehaviorSanitizer).
#   scripts/fuzz_readers.sh [TARGET] [SECONDS] [LIBFUZZER FLAGS...]   TARGET: dataset (default) | checkpoint | tableau
# libhdf5 1.10.8 crashes in H5HG_read on some damaged files within a few hundred inputs (results/robustness.md);
# add -fork=1 -ignore_crashes=1 to go on past it.
# Builds build-fuzz/fuzz_<target> from tests/fuzz/fuzz_readers.cpp and the I/O sources, makes a seed corpus with
# build/trk (or $TRK), and runs for SECONDS (default 60). Crashes are written to build-fuzz/crash-*.
# The CTest suite has a bounded, seeded version of the same run (tests/io/fuzz_readers_test.cpp).
set -eu
target=${1:-dataset}
seconds=${2:-60}
[ $# -gt 2 ] && shift 2 || set --
root=$(cd "$(dirname "$0")/.." && pwd)
trk=${TRK:-$root/build/trk}
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
      "$trk" identify --data "$out/seed_data.h5" --solver trk2 --iterations 1000000 --meet-iterations 0 \
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
