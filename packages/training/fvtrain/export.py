"""ONNX export (BatchNorm folded, eval mode) and verification without onnxruntime:
onnx.checker plus a tiny NumPy interpreter of the exported graph compared with torch."""
from __future__ import annotations

import inspect

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from .model import INPUT_HEIGHT, INPUT_WIDTH, SiameseNet, fuse_batchnorm

OPSET = 13
INPUT_NAME = "input"
OUTPUT_NAME = "embedding"


# How model.onnx may store its weights, and how far its embeddings may then differ from torch's:
# half-precision weights round each weight by up to 2^-11 of itself.
VERIFY_TOLERANCE = {"fp32": 1e-4, "fp16": 5e-3}
WEIGHT_FORMATS = tuple(VERIFY_TOLERANCE)


def store_weights_fp16(m: onnx.ModelProto) -> int:
    """Store every float initializer as float16, each followed by a Cast back to float32: the file
    halves while the graph still computes in float32 (onnxruntime folds the Casts once, at session
    creation). Returns the number of initializers converted."""
    graph = m.graph
    casts = []
    converted = 0
    for init in graph.initializer:
        if init.data_type != onnx.TensorProto.FLOAT:
            continue
        values = numpy_helper.to_array(init)
        if np.abs(values).max(initial=0) > 65504:
            raise ValueError(f"initializer {init.name} does not fit in float16")
        name = init.name
        half = numpy_helper.from_array(values.astype(np.float16), name=f"{name}__fp16")
        init.CopyFrom(half)
        casts.append(onnx.helper.make_node("Cast", [f"{name}__fp16"], [name], to=onnx.TensorProto.FLOAT,
                                           name=f"{name}__cast"))
        converted += 1
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    return converted


def export_onnx(model: SiameseNet, path: str, weights: str = "fp32") -> None:
    """`weights`: "fp32", or "fp16" to store the weights at half precision (see store_weights_fp16)."""
    if weights not in WEIGHT_FORMATS:
        raise ValueError(f"weights must be one of {WEIGHT_FORMATS}, not {weights!r}")
    fused = fuse_batchnorm(model)
    dummy = torch.zeros(1, 1, INPUT_HEIGHT, INPUT_WIDTH)
    # The TorchScript exporter on every PyTorch: newer releases default to the dynamo exporter,
    # whose graphs differ (and need opset 18).
    legacy = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    torch.onnx.export(
        fused, dummy, path,
        input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
        dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
        opset_version=OPSET, do_constant_folding=True,
        training=torch.onnx.TrainingMode.EVAL, **legacy,
    )
    m = onnx.load(path)
    if weights == "fp16":
        store_weights_fp16(m)
    m.producer_name = "fvtrain"
    m.doc_string = (f"Siamese face embedding; input uint8/255 grayscale [N,1,62,47]; "
                    f"output L2-normalised [N,{model.embedding_dim}]")
    onnx.save(m, path)


# --- minimal NumPy reference for the ops this model exports to -----------------------

def _conv(x, w, b, pads, strides, dilations, group):
    assert tuple(dilations) == (1, 1)
    if group > 1:  # grouped (depthwise) convolution: one ordinary conv per group
        gi, go = x.shape[1] // group, w.shape[0] // group
        out = np.concatenate([_conv(x[:, g * gi:(g + 1) * gi], w[g * go:(g + 1) * go], None, pads, strides,
                                    dilations, 1) for g in range(group)], axis=1)
        return out + b.reshape(1, -1, 1, 1) if b is not None else out
    n, c, h, wd = x.shape
    oc, ic, kh, kw = w.shape
    pt, pl, pb, pr = pads
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    sh, sw = strides
    oh = (h + pt + pb - kh) // sh + 1
    ow = (wd + pl + pr - kw) // sw + 1
    cols = np.empty((n, c, kh, kw, oh, ow), dtype=np.float64)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = xp[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw]
    out = np.einsum("nckluv,ockl->nouv", cols, w.astype(np.float64), optimize=True)
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out


def _maxpool(x, kernel, strides, pads, ceil_mode):
    assert not any(pads) and not ceil_mode
    kh, kw = kernel
    sh, sw = strides
    n, c, h, w = x.shape
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    out = np.full((n, c, oh, ow), -np.inf)
    for i in range(kh):
        for j in range(kw):
            out = np.maximum(out, x[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw])
    return out


def _quantize(x, scale, zero_point):
    """QuantizeLinear with a per-tensor scale: round half to even, saturate to the zero point's type."""
    info = np.iinfo(zero_point.dtype)
    return np.clip(np.rint(x / scale) + zero_point, info.min, info.max).astype(zero_point.dtype)


def _dequantize(q, scale, zero_point, axis):
    """DequantizeLinear, per tensor or (1-D scale) per slice along `axis`."""
    scale, zero_point = np.asarray(scale, np.float64), np.asarray(zero_point, np.float64)
    if scale.ndim == 1:
        shape = [1] * q.ndim
        shape[axis] = -1
        scale, zero_point = scale.reshape(shape), zero_point.reshape(shape)
    return (q.astype(np.float64) - zero_point) * scale


def run_reference(model_path: str | onnx.ModelProto, x: np.ndarray,
                  trace: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """The graph's output for input `x`, computed in float64; `trace`, when given, receives every
    tensor the graph computes (by name)."""
    m = onnx.load(model_path) if isinstance(model_path, str) else model_path
    env: dict[str, np.ndarray] = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    env[m.graph.input[0].name] = x.astype(np.float64)
    for node in m.graph.node:
        a = {at.name: onnx.helper.get_attribute_value(at) for at in node.attribute}
        ins = [env[i] if i else None for i in node.input]
        op = node.op_type
        if op == "Conv":
            k = ins[1].shape[2:]
            out = _conv(ins[0], ins[1], ins[2] if len(ins) > 2 else None, a.get("pads", [0] * 4),
                        a.get("strides", [1, 1]), a.get("dilations", [1, 1]), a.get("group", 1))
            assert tuple(a.get("kernel_shape", k)) == tuple(k)
        elif op == "Relu":
            out = np.maximum(ins[0], 0)
        elif op == "MaxPool":
            out = _maxpool(ins[0], a["kernel_shape"], a.get("strides", [1, 1]), a.get("pads", [0] * 4),
                           a.get("ceil_mode", 0))
        elif op == "GlobalMaxPool":
            out = ins[0].max(axis=(2, 3), keepdims=True)
        elif op == "Flatten":
            ax = a.get("axis", 1)
            out = ins[0].reshape(int(np.prod(ins[0].shape[:ax])), -1)
        elif op == "Reshape":
            out = ins[0].reshape([int(s) if s != 0 else ins[0].shape[i] for i, s in enumerate(ins[1])])
        elif op == "Mul":
            out = ins[0] * ins[1]
        elif op == "Add":
            out = ins[0] + ins[1]
        elif op == "Div":
            out = ins[0] / ins[1]
        elif op == "Sqrt":
            out = np.sqrt(ins[0])
        elif op == "ReduceSum":
            axes = tuple(int(v) for v in ins[1]) if len(ins) > 1 and ins[1] is not None else None
            out = ins[0].sum(axis=axes, keepdims=bool(a.get("keepdims", 1)))
        elif op == "Cast":
            out = ins[0].astype(np.float64)
        elif op == "Identity":
            out = ins[0]
        elif op == "QuantizeLinear":
            out = _quantize(ins[0], float(ins[1]), ins[2])
        elif op == "DequantizeLinear":
            out = _dequantize(ins[0], ins[1], ins[2], a.get("axis", 1))
        elif op == "Constant":
            out = numpy_helper.to_array(a["value"])
        else:
            raise NotImplementedError(f"reference interpreter has no {op}")
        env[node.output[0]] = out
    if trace is not None:
        trace.update(env)
    return env[m.graph.output[0].name].astype(np.float32)


def verify_onnx(model: SiameseNet, path: str, sample: np.ndarray,
                tolerance: float = VERIFY_TOLERANCE["fp32"]) -> dict:
    """`sample`: uint8 [B,62,47]. Returns a report; raises if the graph's embeddings differ from
    torch's by more than `tolerance` (VERIFY_TOLERANCE of the weight format) or anything else is off."""
    m = onnx.load(path)
    onnx.checker.check_model(m)
    ops = sorted({n.op_type for n in m.graph.node})
    assert "BatchNormalization" not in ops, "BatchNorm was not folded"
    assert [i.name for i in m.graph.input] == [INPUT_NAME]
    assert [o.name for o in m.graph.output] == [OUTPUT_NAME]
    in_dims = [d.dim_param or d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim]
    assert in_dims[1:] == [1, INPUT_HEIGHT, INPUT_WIDTH] and isinstance(in_dims[0], str), in_dims
    x = sample.astype(np.float32)[:, None] / 255.0
    model.eval()
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()
    got = run_reference(path, x)
    assert got.shape == (len(sample), model.embedding_dim), got.shape
    max_diff = float(np.abs(got - ref).max())
    norms = np.linalg.norm(got, axis=1)
    assert max_diff < tolerance, f"ONNX graph differs from torch by {max_diff} (tolerance {tolerance})"
    assert np.allclose(norms, 1, atol=1e-4)
    return {"ops": ops, "max_abs_diff_vs_torch": max_diff, "tolerance": tolerance,
            "checked_faces": int(len(sample)), "opset": OPSET}
