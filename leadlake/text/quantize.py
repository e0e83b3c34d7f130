"""int8 encoder graphs whose vectors stay within 0.99 cosine of fp32 on every text, at int8 speed.

Every weight MatMul of the exported fp32 graph is rewritten to run in 8-bit
integers (ONNX Runtime's ``MatMulIntegerToFloat``: MLAS's u8 x s8 kernels,
VNNI or AMX where the CPU has them), with

- weights in int8, one scale per output column;
- activations in uint8 quantized at run time **per token**: each token's row
  gets its own scale and zero point from its own minimum and maximum.

Why per token. Measured on MiniLM over 600 demo texts (one core, Intel Xeon
with AMX), against fp32 ONNX: ONNX Runtime's own dynamic quantization (one
activation scale per tensor) runs 2.7x fp32 but loses up to 0.03 cosine on
short texts (min 0.970: a few tokens' large activations set the scale for all
of them); block-wise ``MatMulNBits`` holds 0.995 but runs 1.06x fp32 there
(its 8-bit kernels are not the fast ones); quantizing only some layers does
not close the gap (eight of eighteen feed-forward and value MatMuls kept fp32
still left 0.992). Per-token scales with symmetric rows reach 0.986; with a
zero point per row, 0.995 at 2.25x fp32. A side effect users see: a text's
vector no longer depends on which texts share its batch.

ONNX Runtime's integer MatMuls take one zero point for the whole of ``A``, so
the per-row zero point ``z`` is taken out of the product exactly:
``(q - z) Wq = q Wq - z * colsum(Wq)``, where ``colsum`` is a constant. The
graph computes ``s * (q Wq * w_scale) - (s * z) * (colsum(Wq) * w_scale)``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

# Written into the export and into the vectors' model id: vectors of two int8 schemes are not compared.
SCHEME = "int8 per-token activations, per-column weights"


def quantize_per_token(fp32: Path, int8: Path) -> None:
    """Rewrite ``fp32`` (an ONNX model with constant-weight MatMuls) into ``int8``."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(fp32))
    graph = model.graph
    weights = {i.name: i for i in graph.initializer}
    added: list[onnx.TensorProto] = []
    nodes: list[onnx.NodeProto] = []
    rows_of: dict[str, str] = {}

    def const(name: str, value: np.ndarray) -> str:
        added.append(numpy_helper.from_array(value, name))
        return name

    for name, value in (("qt_inv255", np.float32(1 / 255)), ("qt_eps", np.float32(1e-8)), ("qt_zero", np.float32(0)),
                        ("qt_one", np.float32(1)), ("qt_axis1", np.array([1], np.int64)),
                        ("qt_first", np.array([0], np.int64)), ("qt_last", np.array([-1], np.int64))):
        const(name, np.asarray(value))

    def node(prefix: str, op: str, inputs: list[str], output: str, **attrs) -> str:
        nodes.append(helper.make_node(op, inputs, [prefix + output], name=prefix + output, **attrs))
        return prefix + output

    def quantized_rows(x: str, k: int) -> str:
        """Names under prefix p: p+q (uint8 rows), p+s / p+sz (scale and scale*zero point as columns), p+lead."""
        if x in rows_of:
            return rows_of[x]
        p = "qt" + x.replace("/", "_") + "_"
        rows = node(p, "Reshape", [x, const(p + "k", np.array([-1, k], np.int64))], "rows")
        lo = node(p, "Min", [node(p, "ReduceMin", [rows], "min", axes=[1], keepdims=0), "qt_zero"], "lo")
        hi = node(p, "Max", [node(p, "ReduceMax", [rows], "max", axes=[1], keepdims=0), "qt_zero"], "hi")
        scale = node(p, "Max", [node(p, "Mul", [node(p, "Sub", [hi, lo], "range"), "qt_inv255"], "s0"), "qt_eps"], "s")
        zero_f = node(p, "Round", [node(p, "Neg", [node(p, "Div", [lo, scale], "lo_steps")], "z0")], "zf")
        zero = node(p, "Cast", [zero_f], "z", to=TensorProto.UINT8)
        node(p, "QuantizeLinear", [rows, scale, zero], "q", axis=0)
        node(p, "Unsqueeze", [scale, "qt_axis1"], "s_col")
        node(p, "Unsqueeze", [node(p, "Mul", [scale, zero_f], "sz0"), "qt_axis1"], "sz")
        node(p, "Slice", [node(p, "Shape", [x], "shape"), "qt_first", "qt_last"], "lead")
        rows_of[x] = p
        return p

    for n in graph.node:
        if n.op_type != "MatMul" or n.input[1] not in weights:
            nodes.append(n)
            continue
        w = numpy_helper.to_array(weights[n.input[1]]).astype(np.float32)
        k, cols = w.shape
        w_scale = (np.maximum(np.abs(w).max(axis=0), 1e-12) / 127).astype(np.float32)
        wq = np.clip(np.round(w / w_scale), -127, 127).astype(np.int8)
        colsum = (wq.astype(np.int64).sum(axis=0) * w_scale).astype(np.float32)[None, :]
        p = quantized_rows(n.input[0], k)
        b = "qt" + n.name.replace("/", "_") + "_"
        product = node(b, "MatMulIntegerToFloat", [p + "q", const(b + "wq", wq), "qt_one", const(b + "ws", w_scale)],
                       "f", domain="com.microsoft")
        scaled = node(b, "Mul", [product, p + "s_col"], "fs")
        offset = node(b, "Mul", [p + "sz", const(b + "colsum", colsum)], "offset")
        shape = node(b, "Concat", [p + "lead", const(b + "n", np.array([cols], np.int64))], "shape", axis=0)
        nodes.append(helper.make_node("Reshape", [node(b, "Sub", [scaled, offset], "y"), shape], [n.output[0]],
                                      name=b + "out"))
    used = {i for nd in nodes for i in nd.input}
    kept = [i for i in list(graph.initializer) + added if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    del graph.node[:]
    graph.node.extend(nodes)
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    onnx.checker.check_model(model)
    onnx.save(model, str(int8))


# x86 CPUs without VNNI multiply u8 x s8 with VPMADDUBSW, which adds pairs of products in int16 and saturates
# (255 x 127 x 2 > 32767): full-range uint8 activations would be clipped there. With the weights stored as
# uint8 around a zero point of 128, ONNX Runtime takes its u8 x u8 kernels, which do not saturate: the same
# integers, the same vectors (tested), but slower where VNNI exists (one core of a Xeon with AMX: 186 vs 455
# texts/s), so only where it is needed. Making either side 7-bit instead cost accuracy (min cosine 0.990 with
# 7-bit weights, 0.982 with 7-bit activations, against 0.995).
SATURATION_FREE_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")


def saturates_u8s8() -> bool:
    """Whether this machine's u8 x s8 kernels can saturate (x86 without VNNI or AMX)."""
    import platform

    from leadlake.hardware import cpu_flags

    x86 = platform.machine().lower() in ("x86_64", "amd64", "i686", "x86")
    return x86 and not any(flag in cpu_flags() for flag in SATURATION_FREE_FLAGS)


def with_unsigned_weights(int8: Path) -> bytes:
    """The per-token model with every int8 weight stored as uint8 + 128 and a weight zero point of 128."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(int8))
    weights = {i.name: i for i in model.graph.initializer}
    for n in model.graph.node:
        if n.op_type != "MatMulIntegerToFloat" or n.domain != "com.microsoft":
            continue
        signed = numpy_helper.to_array(weights[n.input[1]])
        weights[n.input[1]].CopyFrom(numpy_helper.from_array((signed.astype(np.int16) + 128).astype(np.uint8),
                                                             n.input[1]))
        zero = n.input[1] + "_zero128"
        model.graph.initializer.append(numpy_helper.from_array(np.array(128, np.uint8), zero))
        inputs = list(n.input) + [""] * (6 - len(n.input))
        inputs[5] = zero
        del n.input[:]
        n.input.extend(inputs)
    return model.SerializeToString()
