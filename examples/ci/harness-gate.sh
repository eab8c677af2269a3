#!/usr/bin/env bash
# The harness CI gate: build the base and the change, measure both several times on the device attached to
# this runner, interleaved (A B | B A | A B ...: thermal drift and background load hit both alike), then
# `harness compare` the two builds (their model files may differ: that is the change). The run is the unit of evidence: 5 runs per side detect a 10 % change at
# 2 % run-to-run noise (see the README's statistics section); fewer runs leave rows INCONCLUSIVE, and say so.
#
# Writes $HARNESS_GATE_OUT/compare.md (the PR / MR comment, <= 60,000 characters), compare.json and
# compare.html, and exits with harness compare's code:
#   0 no regression · 1 a regression, or a cell measured in the base that failed in the change (fail the job)
#   2 harness or usage error, or rows that cannot be compared (device fingerprint, artifact, settings)
#   3 inconclusive rows (only with HARNESS_GATE_STRICT=1)
#
# usage: harness-gate.sh BASE_CHECKOUT CHANGE_CHECKOUT
# env:   HARNESS_GATE_WORKLOADS  workload YAML files, relative to each checkout (default: workloads/*.yaml)
#        HARNESS_GATE_DEVICE     device profile name or YAML path (default: local)
#        HARNESS_GATE_RUNS       runs per side (default: 5)
#        HARNESS_GATE_ID         unique per pipeline: names the two builds (default: a UTC timestamp)
#        HARNESS_GATE_OUT        where the outputs go (default: ./harness-gate)
#        HARNESS_GATE_STRICT     1: inconclusive rows fail the job too (exit 3)
#        HARNESS_STORE, HARNESS_BUILDS: the results store and builds folder, as for every harness command
set -euo pipefail

base=${1:?usage: harness-gate.sh BASE_CHECKOUT CHANGE_CHECKOUT}
change=${2:?usage: harness-gate.sh BASE_CHECKOUT CHANGE_CHECKOUT}
runs=${HARNESS_GATE_RUNS:-5}
gate_id=${HARNESS_GATE_ID:-$(date -u +%Y%m%d-%H%M%S)}
device=${HARNESS_GATE_DEVICE:-local}
out=${HARNESS_GATE_OUT:-harness-gate}
mkdir -p "$out"

workload_args() {  # -w FILE for each workload YAML of one checkout (globs expand inside the checkout)
  (cd "$1" && for f in ${HARNESS_GATE_WORKLOADS:-workloads/*.yaml}; do printf '%s\n' -w "$PWD/$f"; done)
}

build_side() {  # side checkout: one build per side, named after this pipeline
  local args
  mapfile -t args < <(workload_args "$2")
  harness build --id "gate-$gate_id-$1" "${args[@]}"
}

run_side() {  # side checkout: one measured run; a failed cell (1) or a missed budget (3) is data for compare
  local args rc=0
  mapfile -t args < <(workload_args "$2")
  harness run --build "gate-$gate_id-$1" -d "$device" "${args[@]}" --no-report || rc=$?
  if [ "$rc" -eq 2 ] || [ "$rc" -gt 3 ]; then
    echo "harness-gate: harness run ($1) stopped with exit $rc" >&2
    exit 2
  fi
}

build_side A "$base"
build_side B "$change"
for i in $(seq 1 "$runs"); do
  if [ $((i % 2)) -eq 1 ]; then run_side A "$base"; run_side B "$change"
  else run_side B "$change"; run_side A "$base"; fi
done

strict=()
[ "${HARNESS_GATE_STRICT:-0}" = 1 ] && strict=(--strict)
rc=0
harness compare "gate-$gate_id-A" "gate-$gate_id-B" --allow-artifact-change "${strict[@]}" \
  --markdown "$out/compare.md" --json "$out/compare.json" --html "$out/compare.html" || rc=$?
echo "harness-gate: harness compare exit $rc (outputs in $out)"
exit "$rc"
