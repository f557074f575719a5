#!/usr/bin/env bash
# The GPU figures in one time-boxed call, for a GPU lent for a few minutes:
#   1. what the device and the library versions are, and a part of the test suite run on it
#      (solves against the float64 NumPy reference, dtypes, half precision, debug-NaNs);
#   2. speed.py's absolute times (forward solves and train steps, batches 64 / 1000 / 10 000),
#      then two rows again with TensorFloat-32 products (what hopjax's float32 ones cost);
#   3. as many of Table 2's MNIST runs (all rows x variants x seeds 0-2, --papers-epochs) as
#      fit before the deadline, JOBS at once sharing the GPU. Every run checkpoints each
#      epoch into RUNS, so a second call with the same RUNS resumes where this one stopped;
#      the call that finishes them all writes OUT/table2-mnist-gpu.{json,md} and the figures.
#
#   bash benchmarks/gpu-check.sh MNIST_DIR [SECONDS=565] [OUT=benchmarks/results]
#
# Environment: PYTHON (default python3), JOBS (default 8), RUNS (default OUT/table2-mnist-gpu-runs),
# TEST_SECONDS (default 90), SPEED_SECONDS (default 150), TF32_SECONDS (default 60). The device
# machine has jax but may lack this package: run from the repository root, which this script
# puts on PYTHONPATH.
set -uo pipefail
cd "$(dirname "$0")/.."
data=${1:?usage: bash benchmarks/gpu-check.sh MNIST_DIR [SECONDS] [OUT]}
budget=${2:-565}
out=${3:-benchmarks/results}
py=${PYTHON:-python3}
runs=${RUNS:-$out/table2-mnist-gpu-runs}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$out" "$runs"

echo "== device ($(date -u +%FT%TZ))"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
"$py" -c 'import jax, equinox, optax, optimistix; print(jax.devices(), jax.__version__,
equinox.__version__, optax.__version__, optimistix.__version__)' || exit 1

echo "== tests on this device (at most ${TEST_SECONDS:-90} s)"
timeout -k 10 "${TEST_SECONDS:-90}" "$py" -m pytest -v -p no:cacheprovider tests/test_solve.py \
    -k "reference_equilibrium or float32_in_float32 or half_precision or numpy_reference or residual_is_small or debug_nans"
echo "tests: exit $?"

echo "== speed.py (at most ${SPEED_SECONDS:-150} s; rows measured so far are kept)"
timeout -k 10 "${SPEED_SECONDS:-150}" "$py" benchmarks/speed.py --data-dir "$data" \
    --out "$out/speed-gpu.json"
echo "speed.py: exit $?"

echo "== speed.py --precision tf32, two rows (at most ${TF32_SECONDS:-60} s)"
timeout -k 10 "${TF32_SECONDS:-60}" "$py" benchmarks/speed.py --data-dir "$data" \
    --precision tf32 --rows "ham3 sync-picard" "ham3 eo-anderson" --out "$out/speed-gpu-tf32.json"
echo "speed.py --precision tf32: exit $?"

seconds=$((budget - SECONDS - 15))  # SECONDS: since the script started; 15 s to stop and report
echo "== Table 2 on MNIST ($seconds s left; JOBS=${JOBS:-8} runs at once; runs in $runs)"
if [ "$seconds" -gt 30 ]; then
    timeout -k 10 "$seconds" "$py" benchmarks/table2.py --dataset mnist --data-dir "$data" \
        --papers-epochs --jobs "${JOBS:-8}" --runs-dir "$runs" --out "$out/table2-mnist-gpu" \
        --no-progress
    echo "table2.py: exit $? (124: stopped at the deadline; call again with the same RUNS to resume)"
fi
echo "== epochs done per run"
for run in "$runs"/*/; do
    [ -f "$run/metrics.jsonl" ] && echo "$(basename "$run"): $(wc -l < "$run/metrics.jsonl") epoch(s)"
done
echo "== done in $SECONDS s"
