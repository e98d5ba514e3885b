#!/bin/sh
# Run one libFuzzer target for $FUZZ_SECONDS (default 20) seconds on a
# scratch copy of its seed corpus, so the repository is never written to.
# usage: run_fuzz.sh FUZZER SEED_CORPUS_DIR SCRATCH_DIR
set -eu
fuzzer=$1
seeds=$2
scratch=$3
seconds=${FUZZ_SECONDS:-20}

rm -rf "$scratch"
mkdir -p "$scratch/corpus" "$scratch/artifacts"
cp "$seeds"/* "$scratch/corpus/"
exec "$fuzzer" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$scratch/artifacts/" "$scratch/corpus"
