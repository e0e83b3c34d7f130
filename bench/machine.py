"""Where a bench ran, and how fast its cores can multiply: the reference a throughput is read against.

A ratio measured on one processor does not carry to another (the embedding
bench's int8 ratio was 2.01x on one 2-core machine and 1.28x on an Intel
Xeon with VNNI). So benches print the processor, the instruction sets that
decide matrix speed, and a measured peak: large fp32 and int8 matrix
products on the same cores, the best this machine's math libraries reach.
"""

from __future__ import annotations

import time

from leadlake.hardware import cpu_flags, cpu_model
from leadlake.ml.boosting import driver_cores as cores

# Instruction sets that decide how fast a CPU multiplies matrices: fp32 FMA widths, and int8 dot products.
MATRIX_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


def matrix_flags() -> list[str]:
    flags = cpu_flags()
    return [f for f in MATRIX_FLAGS if f in flags]


def describe() -> str:
    return f"{cpu_model()}, {cores()} cores; matrix ISA: {' '.join(matrix_flags()) or 'none of ' + str(MATRIX_FLAGS)}"


def _best_rate(run, ops: float, repeats: int = 5) -> float:
    run()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t0)
    return ops / best


def fp32_peak(n: int = 2048) -> float:
    """FLOP/s of an n x n fp32 matrix product on all cores (numpy's BLAS)."""
    import numpy as np

    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n), dtype=np.float32), rng.standard_normal((n, n), dtype=np.float32)
    return _best_rate(lambda: a @ b, 2.0 * n ** 3)


def bf16_peak(n: int = 2048) -> float:
    """FLOP/s of an n x n bf16 matrix product on all cores in torch (oneDNN: AMX or AVX512-BF16 where present),
    the kernels torch's CPU autocast runs on."""
    import torch

    torch.set_num_threads(cores())
    a, b = torch.randn(n, n, dtype=torch.bfloat16), torch.randn(n, n, dtype=torch.bfloat16)
    return _best_rate(lambda: a @ b, 2.0 * n ** 3)


def int8_peak(n: int = 2048, threads: int | None = None) -> float:
    """Integer ops/s of an n x n uint8 x int8 matrix product in ONNX Runtime (MatMulInteger: MLAS's
    VNNI / AVX2 kernels, the ones its quantized models run on)."""
    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(rng.integers(-127, 127, (n, n), dtype=np.int8), "b")
    graph = helper.make_graph([helper.make_node("MatMulInteger", ["a", "b"], ["y"])], "int8_gemm",
                              [helper.make_tensor_value_info("a", TensorProto.UINT8, [n, n])],
                              [helper.make_tensor_value_info("y", TensorProto.INT32, [n, n])], [weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or cores()
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    a = rng.integers(0, 255, (n, n), dtype=np.uint8)
    onnx.checker.check_model(model)
    return _best_rate(lambda: session.run(None, {"a": a}), 2.0 * n ** 3)
