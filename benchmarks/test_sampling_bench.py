"""Sampling overhead: ``sample_statistics`` against a bare forward pass of the same model.

Run with ``python -m pytest benchmarks/test_sampling_bench.py --benchmark-only`` (add ``-s`` to
see one line per case as it finishes; the summary table is printed at the end either way).

For each model and batch size, two things are timed on the same ``n`` samples, in alternating
rounds so that a change in machine load hits both alike:

- **forward**: the model alone on pre-generated noisy inputs (``session.run`` for ONNX, the
  bare function for a callable), i.e. the cost that no sampler can avoid;
- **sampling**: :func:`hocert_sampling.sampler.sample_statistics` with a target class, i.e.
  noise generation + forward pass (through the model adapter) + label extraction and checks +
  class counts + the O(d) split-half sums of the first-order statistic.

The overhead is ``t_sampling / t_forward - 1`` for each round, against the forward pass
timed just before it; the median over the rounds is reported, which is robust to other load on
a shared machine (the figure from the fastest round of each is stored too). The issue's target
is at most 10 %. The same ratio of the process's CPU time (all threads) is reported as well: it
does not see the noise drawn in parallel with the forward pass.
Also timed: **noise**, drawing the ``n`` standard-normal vectors alone with the same generator,
the part of the overhead that is fixed by the sampler's reproducibility contract (the same seed
must give the same noise). pytest-benchmark's own statistics are those of the sampling runs;
everything else is in ``benchmark.extra_info``.

Models: (1) the bundled digits MLP (ONNX, input 1x8x8), (2) a small CIFAR-sized CNN (ONNX built
here with ``onnx.helper``, input 3x32x32, random He-initialised weights, fixed seed, about
3.8 MFLOPs per sample), the same CNN with ONNX Runtime limited to one thread (so that a core is
free for the noise, as when several models share a machine), and the same CNN four times wider
(about 43 MFLOPs per sample, still well below the ResNets usually smoothed on CIFAR-10),
(3) a Python callable: a NumPy/CuPy MLP 3072-256-10 (about 1.6 MFLOPs per sample).

``test_split_half_sums_float32_error`` measures how far the sampler's split-half sums (float32
within a batch, float64 across batches) are from a float64 computation, n = 10^5, d = 3072.

The GPU variants (backend ``cupy``) are skipped unless CuPy reports a usable CUDA device; the
ONNX ones also need ONNX Runtime's CUDA provider (``onnxruntime-gpu``).
"""

from __future__ import annotations

import contextlib
import os
import platform
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from hocert.examples import EXAMPLE_NUM_CLASSES, EXAMPLE_SIGMA, load_example
from hocert_sampling.backend import Backend, cupy_available, get_backend
from hocert_sampling.models import CallableModel, LabelModel, OnnxModel
from hocert_sampling.sampler import sample_statistics

SEED = 0
SIGMA = 0.25
NUM_CLASSES = 10
CIFAR_SHAPE = (3, 32, 32)
ROUNDS = 7
TARGET_OVERHEAD = 0.10

HAVE_GPU = cupy_available()
HAVE_ORT_CUDA = "CUDAExecutionProvider" in ort.get_available_providers()

# (model, samples per run, batch sizes) on each backend. The GPU runs more samples per round:
# its forward passes are far faster, and launch latency would dominate short runs.
CPU_CASES = {
    "digits-onnx": (20_000, (100, 1000)),
    "cifar-cnn-onnx": (4_000, (100, 1000)),
    "cifar-cnn-1thread-onnx": (4_000, (100, 1000)),
    "cifar-cnn-wide-onnx": (1_000, (100, 1000)),
    "cifar-mlp-callable": (4_000, (100, 1000)),
}
GPU_CASES = {
    "digits-onnx": (200_000, (1000, 10_000)),
    "cifar-cnn-onnx": (50_000, (1000, 10_000)),
    "cifar-cnn-wide-onnx": (50_000, (1000, 10_000)),
    "cifar-mlp-callable": (50_000, (1000, 10_000)),
}
CNN_WIDTHS = {
    "cifar-cnn-onnx": (16, 32),
    "cifar-cnn-1thread-onnx": (16, 32),  # ONNX Runtime on one thread: a core is left free
    "cifar-cnn-wide-onnx": (64, 128),
}


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------


def cnn_macs(widths: tuple[int, int], hidden: int) -> int:
    """Multiply-adds per sample of :func:`cifar_cnn_onnx` (convolutions, then the two Gemms)."""
    c1, c2 = widths
    return 32 * 32 * c1 * 27 + 16 * 16 * c2 * 9 * c1 + c2 * 64 * hidden + hidden * NUM_CLASSES


def cifar_cnn_onnx(
    widths: tuple[int, int] = (16, 32), hidden: int = 128, seed: int = SEED
) -> bytes:
    """A small CNN for 3x32x32 inputs, random He-initialised weights, as ONNX (opset 17).

    Conv 3->c1 (3x3, pad 1), ReLU, MaxPool 2 -> Conv c1->c2 (3x3, pad 1), ReLU, MaxPool 2 ->
    Flatten (64 c2) -> Gemm -> hidden, ReLU -> Gemm -> 10. With the default widths (16, 32)
    that is 1.89 M multiply-adds (3.8 MFLOPs) per sample; with (64, 128), 21.7 M (43 MFLOPs).
    """
    rng = np.random.default_rng(seed)
    c1, c2 = widths

    def he(shape: tuple[int, ...], fan_in: int) -> np.ndarray:
        return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)

    weights = {
        "w1": he((c1, 3, 3, 3), 27),
        "b1": np.zeros(c1, np.float32),
        "w2": he((c2, c1, 3, 3), 9 * c1),
        "b2": np.zeros(c2, np.float32),
        "w3": he((64 * c2, hidden), 64 * c2),
        "b3": np.zeros(hidden, np.float32),
        "w4": he((hidden, NUM_CLASSES), hidden),
        "b4": np.zeros(NUM_CLASSES, np.float32),
    }
    conv = {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}
    pool = {"kernel_shape": [2, 2], "strides": [2, 2]}
    nodes = [
        helper.make_node("Conv", ["input", "w1", "b1"], ["c1"], **conv),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], **pool),
        helper.make_node("Conv", ["p1", "w2", "b2"], ["c2"], **conv),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("MaxPool", ["r2"], ["p2"], **pool),
        helper.make_node("Flatten", ["p2"], ["flat"], axis=1),
        helper.make_node("Gemm", ["flat", "w3", "b3"], ["h"]),
        helper.make_node("Relu", ["h"], ["hr"]),
        helper.make_node("Gemm", ["hr", "w4", "b4"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "cifar_cnn",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", *CIFAR_SHAPE])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", NUM_CLASSES])],
        [numpy_helper.from_array(w, name) for name, w in weights.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # readable by every ONNX Runtime the project supports
    onnx.checker.check_model(model)
    return model.SerializeToString()


class NumpyMLP:
    """A Python callable model: MLP 3072 -> 256 -> 10 (ReLU), random weights, any backend."""

    def __init__(self, backend: Backend, seed: int = SEED, hidden: int = 256) -> None:
        rng = np.random.default_rng(seed)
        d = int(np.prod(CIFAR_SHAPE))
        self.xp = backend.xp
        self.w1 = backend.asarray(rng.standard_normal((d, hidden)) * np.sqrt(2 / d), np.float32)
        self.b1 = backend.asarray(np.zeros(hidden), np.float32)
        self.w2 = backend.asarray(rng.standard_normal((hidden, NUM_CLASSES)) / 16, np.float32)
        self.b2 = backend.asarray(np.zeros(NUM_CLASSES), np.float32)

    def __call__(self, batch: Any) -> Any:
        h = batch.reshape(batch.shape[0], -1) @ self.w1
        h += self.b1
        self.xp.maximum(h, 0, out=h)
        return h @ self.w2 + self.b2


@dataclass
class Case:
    """One model on one backend: the adapter for the sampler and the bare forward pass."""

    name: str
    backend: Backend
    model: LabelModel
    forward: Callable[[Any], Any]  # batch (backend array) -> raw output, nothing else
    x: Any  # one input (host array)
    sigma: float
    mflops: float  # per sample (approximate)

    def sync(self) -> None:
        """Wait for queued GPU work (no-op on the CPU)."""
        if self.backend.is_gpu:
            self.backend.xp.cuda.get_current_stream().synchronize()


def _onnx_forward(session: Any, backend: Backend) -> Callable[[Any], Any]:
    """The bare ONNX forward pass: ``session.run`` on the CPU, IOBinding on the GPU."""
    input_name = session.get_inputs()[0].name
    output_name = session.get_outputs()[0].name
    if not backend.is_gpu:
        return lambda batch: session.run([output_name], {input_name: batch})[0]
    xp = backend.xp

    def run_bound(batch: Any) -> Any:
        out = xp.empty((batch.shape[0], NUM_CLASSES), dtype=xp.float32)
        binding = session.io_binding()
        device = int(batch.device.id)
        ptr_in, ptr_out = int(batch.data.ptr), int(out.data.ptr)
        binding.bind_input(input_name, "cuda", device, np.float32, batch.shape, ptr_in)
        binding.bind_output(output_name, "cuda", device, np.float32, out.shape, ptr_out)
        xp.cuda.get_current_stream().synchronize()
        session.run_with_iobinding(binding)
        binding.synchronize_outputs()
        return out

    return run_bound


def _onnx_session(model: Any, backend: Backend, threads: int = 0) -> Any:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads  # 0: ONNX Runtime's default (one per physical core)
    if backend.is_gpu:
        if not HAVE_ORT_CUDA:
            pytest.skip("ONNX Runtime has no CUDA provider (install onnxruntime-gpu)")
        device = int(backend.xp.cuda.Device().id)
        providers: list[Any] = [("CUDAExecutionProvider", {"device_id": device})]
    else:
        providers = ["CPUExecutionProvider"]
    return ort.InferenceSession(model, options, providers=providers)


def make_case(name: str, backend_name: str) -> Case:
    backend = get_backend(backend_name)
    if name == "digits-onnx":
        path, images, _ = load_example()
        session = _onnx_session(str(path), backend)
        model: LabelModel = OnnxModel(session, EXAMPLE_NUM_CLASSES, backend)
        flops = 2 * (64 * 64 + 64 * 64 + 64 * 10) / 1e6
        forward = _onnx_forward(session, backend)
        return Case(name, backend, model, forward, images[0], EXAMPLE_SIGMA, flops)
    x = np.random.default_rng(SEED + 1).random(CIFAR_SHAPE, dtype=np.float32)
    if name in CNN_WIDTHS:
        widths = CNN_WIDTHS[name]
        threads = 1 if "1thread" in name else 0
        session = _onnx_session(cifar_cnn_onnx(widths), backend, threads)
        model = OnnxModel(session, NUM_CLASSES, backend)
        flops = 2 * cnn_macs(widths, 128) / 1e6
        return Case(name, backend, model, _onnx_forward(session, backend), x, SIGMA, flops)
    if name == "cifar-mlp-callable":
        fn = NumpyMLP(backend)
        flops = 2 * (3072 * 256 + 256 * 10) / 1e6
        return Case(name, backend, CallableModel(fn, NUM_CLASSES, backend), fn, x, SIGMA, flops)
    raise ValueError(name)


# --------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------


def batch_sizes(n: int, batch_size: int) -> Iterator[int]:
    for start in range(0, n, batch_size):
        yield min(batch_size, n - start)


def pregenerated_inputs(case: Case, n: int, batch_size: int) -> list[Any]:
    """The noisy inputs ``x + sigma eps`` for ``n`` samples, in batches, on the backend."""
    rng = np.random.default_rng(SEED + 2)
    xp, x = case.backend.xp, case.x.astype(np.float32)
    return [
        xp.asarray(x + np.float32(case.sigma) * rng.standard_normal((b, *x.shape), np.float32))
        for b in batch_sizes(n, batch_size)
    ]


@dataclass
class Timings:
    """Seconds per round: wall clock, and CPU time of this process (all its threads)."""

    forward: list[float] = field(default_factory=list)
    sampling: list[float] = field(default_factory=list)
    noise: list[float] = field(default_factory=list)
    forward_cpu: list[float] = field(default_factory=list)
    sampling_cpu: list[float] = field(default_factory=list)
    load: float = 0.0  # 1-minute load average when the rounds ended (other processes)


def time_case(benchmark: Any, case: Case, n: int, batch_size: int) -> Timings:
    """Alternate forward / noise / sampling rounds; pytest-benchmark times the sampling."""
    inputs = pregenerated_inputs(case, n, batch_size)
    x_backend = case.backend.asarray(case.x, case.backend.xp.float32)
    target = int(case.backend.to_host(case.model(x_backend[None]))[0])
    rng = case.backend.rng(SEED)
    noise_rng = case.backend.rng(SEED)
    timings = Timings()

    def forward() -> None:
        for batch in inputs:
            case.forward(batch)
        case.sync()

    def noise() -> None:
        for b in batch_sizes(n, batch_size):
            noise_rng.standard_normal((b, *case.x.shape), dtype=np.float32)
        case.sync()

    def run_sampler() -> None:  # the host copy of the statistics synchronises the GPU
        sample_statistics(case.model, case.x, case.sigma, n, batch_size, rng, target=target)

    def timed(fn: Callable[[], None], wall: list[float], cpu: list[float] | None = None) -> None:
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        if cpu is not None:
            cpu.append(time.process_time() - c0)

    def sampling() -> None:
        timed(run_sampler, timings.sampling, timings.sampling_cpu)

    def setup() -> None:  # runs before every sampling round, untimed by pytest-benchmark
        timed(forward, timings.forward, timings.forward_cpu)
        timed(noise, timings.noise)

    forward()  # warm-up: ONNX Runtime's first runs, thread pools, CuPy kernel compilation
    noise()
    run_sampler()
    benchmark.pedantic(sampling, setup=setup, rounds=ROUNDS, iterations=1)
    timings.load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return timings


def report(benchmark: Any, case: Case, n: int, batch_size: int, t: Timings) -> dict[str, Any]:
    fwd, smp, noi = min(t.forward), min(t.sampling), min(t.noise)

    def paired(sampling: list[float], forward: list[float]) -> float:
        """Median over rounds of the overhead against the forward pass timed just before."""
        return 100 * float(np.median(np.divide(sampling, forward) - 1))

    row = {
        "backend": case.backend.name,
        "model": case.name,
        "batch_size": batch_size,
        "n": n,
        "d": int(np.prod(case.x.shape)),
        "mflops_per_sample": round(case.mflops, 3),
        "forward_samples_per_s": n / fwd,
        "sampling_samples_per_s": n / smp,
        "noise_samples_per_s": n / noi,
        "overhead_pct": paired(t.sampling, t.forward),
        "overhead_pct_best_rounds": 100 * (smp - fwd) / fwd,
        "cpu_time_overhead_pct": paired(t.sampling_cpu, t.forward_cpu),
        "noise_over_forward_pct": 100 * float(np.median(np.divide(t.noise, t.forward))),
        "rounds": len(t.sampling),
        "load_average_1min": t.load,
        "numpy": np.__version__,
        "onnxruntime": ort.__version__,
        "cpu_count": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
    }
    benchmark.extra_info.update(row)
    print(f"\n{format_row(row)}")
    return row


HEADER = (
    f"{'backend':7} {'model':20} {'batch':>6} {'d':>5} {'MFLOP':>6} {'forward/s':>10} "
    f"{'sampling/s':>10} {'noise/s':>10} {'overhead':>9} {'(best)':>9} {'cpu time':>9} "
    f"{'noise/fwd':>9} {'load':>5}"
)


def format_row(r: dict[str, Any]) -> str:
    return (
        f"{r['backend']:7} {r['model']:20} {r['batch_size']:6d} {r['d']:5d} "
        f"{r['mflops_per_sample']:6.2f} {r['forward_samples_per_s']:10.0f} "
        f"{r['sampling_samples_per_s']:10.0f} {r['noise_samples_per_s']:10.0f} "
        f"{r['overhead_pct']:8.1f}% {r['overhead_pct_best_rounds']:8.1f}% "
        f"{r['cpu_time_overhead_pct']:8.1f}% {r['noise_over_forward_pct']:8.1f}% "
        f"{r['load_average_1min']:5.1f}"
    )


@pytest.fixture(scope="module")
def summary(request: pytest.FixtureRequest) -> Iterator[list[dict[str, Any]]]:
    """Collects one row per case; prints the table when the module is done (even without -s)."""
    rows: list[dict[str, Any]] = []
    yield rows
    plugins = request.config.pluginmanager
    reporter = plugins.get_plugin("terminalreporter")
    capture = plugins.get_plugin("capturemanager")
    if not rows or reporter is None:
        return
    lines = [
        "",
        f"Sampling overhead (numpy {np.__version__}, onnxruntime {ort.__version__}, "
        f"{os.cpu_count()} CPUs); samples/s from the fastest of {ROUNDS} rounds; overhead: "
        f"median of the per-round ratios (best: from the fastest rounds); target <= "
        f"{100 * TARGET_OVERHEAD:.0f}%",
        HEADER,
        *(format_row(row) for row in rows),
    ]
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        for line in lines:
            reporter.write_line(line)


def _cases(table: dict[str, tuple[int, tuple[int, ...]]]) -> list[tuple[str, int, int]]:
    return [(name, n, b) for name, (n, sizes) in table.items() for b in sizes]


@pytest.mark.parametrize(("model_name", "n", "batch_size"), _cases(CPU_CASES))
def test_sampling_overhead_cpu(benchmark, summary, model_name, n, batch_size):
    case = make_case(model_name, "numpy")
    benchmark.group = f"sampling numpy {model_name}"
    summary.append(
        report(benchmark, case, n, batch_size, time_case(benchmark, case, n, batch_size))
    )


@pytest.mark.parametrize(("model_name", "n", "batch_size"), _cases(GPU_CASES))
@pytest.mark.gpu
@pytest.mark.skipif(not HAVE_GPU, reason="no CUDA GPU with CuPy available")
def test_sampling_overhead_gpu(benchmark, summary, model_name, n, batch_size):
    case = make_case(model_name, "cupy")
    benchmark.group = f"sampling cupy {model_name}"
    summary.append(
        report(benchmark, case, n, batch_size, time_case(benchmark, case, n, batch_size))
    )


# --------------------------------------------------------------------------------------------
# Accuracy of the float32 split-half sums
# --------------------------------------------------------------------------------------------


def float64_split_half_sums(
    fn: Callable[[Any], Any], x: np.ndarray, n: int, batch_size: int, seed: int, target: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts and split-half sums from the same noise, accumulated in float64 throughout."""
    rng = np.random.default_rng(seed)
    d = x.size
    sums = np.zeros((2, d))
    counts = np.zeros(NUM_CLASSES, dtype=np.int64)
    done = 0
    for b in batch_sizes(n, batch_size):
        eps = rng.standard_normal((b, *x.shape), dtype=np.float32)
        labels = np.argmax(fn(x + np.float32(SIGMA) * eps), axis=1)
        counts += np.bincount(labels, minlength=NUM_CLASSES)
        z = eps.reshape(b, d).astype(np.float64) * ((labels == target) - 0.5)[:, None]
        even = (done + np.arange(b)) % 2 == 0
        sums[0] += z[even].sum(axis=0)
        sums[1] += z[~even].sum(axis=0)
        done += b
    return counts, sums[0], sums[1]


@pytest.mark.parametrize("batch_size", [1000, 10_000])
def test_split_half_sums_float32_error(benchmark, batch_size):
    """Error of the sampler's sums (float32 within a batch) against float64, n=1e5, d=3072."""
    n = 100_000
    backend = get_backend("numpy")
    fn = NumpyMLP(backend)
    model = CallableModel(fn, NUM_CLASSES, backend)
    x = np.random.default_rng(SEED + 1).random(CIFAR_SHAPE, dtype=np.float32)
    target = int(np.argmax(fn(x[None])))

    def run() -> Any:
        return sample_statistics(model, x, SIGMA, n, batch_size, np.random.default_rng(7), target)

    stats = benchmark.pedantic(run, rounds=1, iterations=1)
    counts, ref_x, ref_y = float64_split_half_sums(fn, x, n, batch_size, 7, target)
    np.testing.assert_array_equal(stats.counts, counts)
    abs_err = max(np.abs(stats.sum_x - ref_x).max(), np.abs(stats.sum_y - ref_y).max())
    scale = max(np.abs(ref_x).max(), np.abs(ref_y).max())
    # Monte-Carlo standard deviation of one coordinate of a half's sum: |z| <= |eps| / 2.
    mc_sd = 0.5 * np.sqrt(n / 2)
    info = {
        "n": n,
        "d": x.size,
        "batch_size": batch_size,
        "max_abs_error": float(abs_err),
        "max_abs_sum": float(scale),
        "max_rel_error": float(abs_err / scale),
        "error_over_mc_sd": float(abs_err / mc_sd),
        "max_abs_error_of_mean": float(abs_err / (n // 2)),
    }
    benchmark.extra_info.update(info)
    print(
        f"\n float32 sums, n={n}, d={x.size}, batch {batch_size}: max abs error "
        f"{abs_err:.2e} (max |sum| {scale:.1f}, {abs_err / mc_sd:.1e} Monte-Carlo sd; "
        f"mean error {abs_err / (n // 2):.1e})"
    )
    # The rounding must be negligible next to the Monte-Carlo error of the sums.
    assert abs_err < 1e-4 * mc_sd
