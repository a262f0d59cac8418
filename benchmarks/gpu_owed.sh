#!/usr/bin/env bash
# The GPU figures issues 3 and 4 still owe, for a session that is lent a GPU (device tool).
#
# Call 1 (eager; a few minutes on an H100), from the repository root on the device machine:
#     bash benchmarks/gpu_owed.sh eager "$OUT"
# Call 2 (torch.compile of the fast path on the target rows, classic space at 3x32x32, first and second
# order; each row compiles twice, for its check and for its timing, minutes each):
#     bash benchmarks/gpu_owed.sh compile "$OUT" reduce-overhead
# and, if device time is left, the same with "default" (inductor without CUDA graphs).
# Optional call 3 (no issue owes it): hyperDARTS' step next to DARTS' (classic space, first order):
#     bash benchmarks/gpu_owed.sh hyperdarts "$OUT"
# Call 4 (issue 16; under 3 minutes): one evaluate trial of each family end to end on CUDA (plain CNN,
# DARTS, Hyperion with a sub-search-space, hyperDARTS) on data the script makes, with per-trial time
# and the GPU memory figures every trial records:
#     bash benchmarks/gpu_owed.sh trials "$OUT"
# All need only torch and pandas (preinstalled there); nothing has to be carried (call 4: torch alone). Each command's
# exit status is printed and the next one still runs (a FAIL in one check must not lose the others).
# Copy what comes back to results/darts_step/ and results/hyperion-memory/, with the date and device.
set -u
usage="usage: gpu_owed.sh eager|hyperdarts|trials OUT_DIR | gpu_owed.sh compile OUT_DIR MODE"
what=${1:-}
out=${2:-}
mode=${3:-reduce-overhead}
py=${PYTHON:-python3}  # the device image's python3 holds torch
if [[ -z "$out" || ( "$what" != eager && "$what" != compile && "$what" != hyperdarts && "$what" != trials ) ]]; then echo "$usage" >&2; exit 2; fi
mkdir -p "$out"
out=$(realpath "$out")
cd "$(dirname "$0")/.."
run() { echo "+ $*"; "$@"; echo "exit $? : $1 $2"; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu-$what.csv" || true
case "$what" in
eager)
  run "$py" benchmarks/darts_step.py --device cuda --out "$out/darts_step.md"
  # the proposals of issue 12's real Hyperion run on mnist-table3 (see results/hyperion-memory/README.md);
  # the GPU machine has no syne-tune, and needs none to read them
  proposals="results/hyperion-memory/run-2026-12-02/seed-0/trials.csv results/hyperion-memory/run-2026-12-02/seed-1/trials.csv"
  run "$py" benchmarks/hyperion_memory.py --device cuda --trials $proposals --out "$out/hyperion_memory.md"
  run "$py" benchmarks/hyperion_memory.py --device cuda --trials $proposals --fast \
      --out "$out/hyperion_memory_fast.md"
  ;;
compile)
  run "$py" benchmarks/darts_step.py --device cuda --only darts-8 --inputs 3x32x32 \
      --compile "$mode" --out "$out/darts_step_compile_$mode.md"
  ;;
hyperdarts)
  run "$py" benchmarks/darts_step.py --device cuda --only darts-8 --orders 1 --hyperdarts \
      --out "$out/darts_step_hyperdarts.md"
  ;;
trials)
  run timeout 170 "$py" benchmarks/gpu_trials.py --device cuda --out "$out/gpu_trials.md"
  ;;
esac
