#!/usr/bin/env bash
# The GPU checks of hocert_sampling in one call, for a machine with a CUDA GPU and CuPy.
#
#   bash tools/gpu_check.sh            # from the repository root; logs go to $OUT or ./gpu_check
#
# Made for this project's lent device machines (see CONTRIBUTING.md, "GPU checks"): no network,
# so nothing is installed; the repository is put on PYTHONPATH instead. There the image has
# CuPy (CUDA 13), NumPy, SciPy, Numba, statsmodels, onnxruntime *without* the CUDA provider and
# no Dask: the ONNX-on-GPU tests then exercise the host fallback, not IOBinding. Each step has
# its own time limit so that one slow step cannot eat the whole lease (about 10 minutes in all:
# 1-2 of them are Numba's first compilation).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out="${OUT:-gpu_check}"
mkdir -p "$out"
: >"$out/summary.txt"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
py="${PYTHON:-python3}"

{
    date -u
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1
    "$py" - <<'EOF'
import importlib

for name in ("numpy", "scipy", "numba", "cupy", "onnxruntime", "statsmodels", "dask"):
    try:
        mod = importlib.import_module(name)
        print(name, getattr(mod, "__version__", "?"))
    except Exception as exc:  # report, do not stop: the tests say what is missing
        print(name, "MISSING:", exc)
try:
    import onnxruntime as ort

    print("onnxruntime providers:", ort.get_available_providers())
    import cupy

    print("cupy device:", cupy.cuda.runtime.getDeviceProperties(0)["name"].decode())
except Exception as exc:
    print("device query failed:", exc)
EOF
} >"$out/env.txt" 2>&1

# 1. The GPU tests (CuPy sampler, ONNX and callables on CuPy, CPU-vs-GPU agreement on the same
#    seeds): they skip, with the reason, where CuPy has no device.
timeout 300 "$py" -m pytest -m gpu -rs -q -p no:cacheprovider tests/sampling \
    >"$out/gpu_tests.log" 2>&1
echo "gpu tests: exit $?" >>"$out/summary.txt"

# 2. Sampling throughput against a bare forward pass on the GPU (benchmarks/test_sampling_bench.py).
timeout 360 "$py" -m pytest -q -p no:cacheprovider benchmarks/test_sampling_bench.py \
    --benchmark-only -k gpu -s --benchmark-json "$out/gpu_bench.json" >"$out/gpu_bench.log" 2>&1
echo "gpu benchmark: exit $?" >>"$out/summary.txt"

cat "$out/summary.txt"
tail -n 30 "$out/gpu_tests.log"
tail -n 30 "$out/gpu_bench.log"
