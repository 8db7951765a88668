"""Static int8 quantisation of an exported model:
`python -m fvtrain.quantize --model model.onnx --crops DIR --exclude-pairs FILE --out model-int8.onnx`.

The graph stays a plain ONNX graph in QDQ form (QuantizeLinear / DequantizeLinear pairs around each
convolution), which onnxruntime fuses into integer convolutions when it loads the file; the server
loads it like any other model. What is quantised:

- weights: per output channel, symmetric, stored as int8; biases as int32 at the scale of input
  times weight;
- activations: the network input (exactly: x = byte / 255 is byte at scale 1/255), every ReLU
  output (uint8, scale: the largest value seen on calibration faces / 255) and the embedding
  convolution's signed output (uint8 with zero point 128, scale: the largest magnitude / 127), one
  scale per tensor; a max pool of a quantised tensor keeps its grid, so it runs on the bytes;
- not quantised: the L2 normalisation at the end.

Quantising the embedding convolution's output lets onnxruntime fuse that convolution as well:
siamese-v5 at batch 1 went from 89-91% of the seed network's throughput to 100-102% (one thread, two
runs of `npm run bench:compare`).

Weights use 7 bits (|q| <= 63) by default, not 8: onnxruntime's x86 integer kernels without VNNI
(AVX2 only, as on the CPUs this project runs on) add pairs of uint8 x int8 products into int16
with saturation (vpmaddubsw), and 255 x 127 x 2 overflows it; 255 x 63 x 2 does not. Measured on
siamese-v5 (DevTest): 8-bit weights 91.70%, 7-bit 94.80% (the float model: 94.40%).

Calibration faces are drawn from the crops of people outside every --exclude-pairs file, so a
model evaluated on those pairs never had its scales set on their faces; a second, disjoint draw
checks the quantised graph against the float one (float64 reference interpreter, no onnxruntime).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper

from .cli import file_digest
from .data import excluded_people, load_crops
from .export import INPUT_NAME, run_reference

DEFAULT_WEIGHT_BITS = 7
DEFAULT_CALIBRATION_FACES = 512
CHECK_FACES = 64
# The quantised graph's embeddings, against the float graph's, on the check faces: the smallest
# cosine allowed, a guard against a broken graph rather than a measure of accuracy (that is the
# eval CLI's). At 7 bits, 64 faces: siamese-v5 0.9983, its ten View 2 fold models 0.9876-0.9983.
MIN_CHECK_COSINE = 0.98
REFERENCE_BATCH = 64


class QuantizeError(ValueError):
    pass


def _aliases(graph: onnx.GraphProto) -> tuple[dict[str, np.ndarray], set[str]]:
    """Float values of the weights, seen through the Casts (fp16 storage) and Identities (shared
    initializers) the exporter writes; and the names of those alias nodes' outputs."""
    values = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    alias_outputs = set()
    for node in graph.node:
        if node.op_type in ("Cast", "Identity") and node.input[0] in values:
            values[node.output[0]] = values[node.input[0]].astype(np.float32)
            alias_outputs.add(node.output[0])
    return values, alias_outputs


def _signed_convs(graph: onnx.GraphProto) -> set[str]:
    """Outputs of convolutions that no ReLU follows (the embedding convolution): signed values."""
    relu_inputs = {n.input[0] for n in graph.node if n.op_type == "Relu"}
    return {n.output[0] for n in graph.node if n.op_type == "Conv" and n.output[0] not in relu_inputs}


def activation_ranges(model: onnx.ModelProto, faces_u8: np.ndarray) -> dict[str, float]:
    """Over the faces (uint8 [N,62,47]): the largest value of every ReLU output, and the largest
    magnitude of every convolution output no ReLU follows."""
    relu_outputs = [n.output[0] for n in model.graph.node if n.op_type == "Relu"]
    signed = sorted(_signed_convs(model.graph))
    ranges = dict.fromkeys(relu_outputs + signed, 0.0)
    for i in range(0, len(faces_u8), REFERENCE_BATCH):
        trace: dict[str, np.ndarray] = {}
        run_reference(model, faces_u8[i:i + REFERENCE_BATCH].astype(np.float32)[:, None] / 255.0, trace)
        for name in relu_outputs:
            ranges[name] = max(ranges[name], float(trace[name].max()))
        for name in signed:
            ranges[name] = max(ranges[name], float(np.abs(trace[name]).max()))
    return ranges


def quantize_model(model: onnx.ModelProto, ranges: dict[str, float],
                   weight_bits: int = DEFAULT_WEIGHT_BITS) -> onnx.ModelProto:
    """The QDQ graph of `model` (see the module docstring); `ranges` from activation_ranges."""
    if not 2 <= weight_bits <= 8:
        raise QuantizeError(f"weight bits must lie in 2..8, not {weight_bits}")
    qmax = 2 ** (weight_bits - 1) - 1
    graph = model.graph
    values, alias_outputs = _aliases(graph)
    nodes: list[onnx.NodeProto] = []
    inits: list[onnx.TensorProto] = []
    renamed: dict[str, str] = {}  # float tensor -> its quantise-dequantise copy
    grid_of: dict[str, tuple[float, int]] = {}  # tensors held on a uint8 grid: (scale, zero point)
    signed = _signed_convs(graph)

    def qdq(tensor: str, scale: float, zero_point: int = 0) -> None:
        s, z = f"{tensor}_scale", f"{tensor}_zero_point"
        inits.append(numpy_helper.from_array(np.array(scale, np.float32), s))
        inits.append(numpy_helper.from_array(np.array(zero_point, np.uint8), z))
        nodes.append(helper.make_node("QuantizeLinear", [tensor, s, z], [f"{tensor}_q"]))
        nodes.append(helper.make_node("DequantizeLinear", [f"{tensor}_q", s, z], [f"{tensor}_dq"]))
        renamed[tensor] = f"{tensor}_dq"
        grid_of[tensor] = (scale, zero_point)

    qdq(INPUT_NAME, 1.0 / 255.0)
    convs = 0
    for node in graph.node:
        if node.output[0] in alias_outputs:
            continue
        inputs = [renamed.get(i, i) for i in node.input]
        if node.op_type == "Conv":
            source = node.input[0]
            if source not in grid_of:
                raise QuantizeError(f"conv {node.name or node.output[0]} reads {source}, which is not on a uint8 "
                                    "grid (not the input, a ReLU or embedding conv output, or a max pool of one)")
            if len(node.input) < 3 or node.input[1] not in values or node.input[2] not in values:
                raise QuantizeError(f"conv {node.name or node.output[0]} has no constant weight and bias")
            w, b = values[node.input[1]].astype(np.float64), values[node.input[2]].astype(np.float64)
            w_scale = np.maximum(np.abs(w).reshape(len(w), -1).max(axis=1), 1e-12) / qmax
            b_scale = grid_of[source][0] * w_scale
            wq = np.clip(np.rint(w / w_scale[:, None, None, None]), -qmax, qmax).astype(np.int8)
            bq = np.rint(b / b_scale).astype(np.int64)
            if np.abs(bq).max(initial=0) >= 2 ** 31:
                raise QuantizeError(f"conv {node.name or node.output[0]}: a bias does not fit in int32 at its scale")
            stem = f"conv{convs}"
            for suffix, q, scale, zero in (("weight", wq, w_scale, np.zeros(len(w), np.int8)),
                                           ("bias", bq.astype(np.int32), b_scale, np.zeros(len(w), np.int32))):
                inits += [numpy_helper.from_array(q, f"{stem}_{suffix}_q"),
                          numpy_helper.from_array(scale.astype(np.float32), f"{stem}_{suffix}_scale"),
                          numpy_helper.from_array(zero, f"{stem}_{suffix}_zero_point")]
                nodes.append(helper.make_node("DequantizeLinear", [f"{stem}_{suffix}_q", f"{stem}_{suffix}_scale",
                                                                   f"{stem}_{suffix}_zero_point"],
                                              [f"{stem}_{suffix}"], axis=0))
            inputs[1:3] = [f"{stem}_weight", f"{stem}_bias"]
            convs += 1
        copy = helper.make_node(node.op_type, inputs, list(node.output), name=node.name)
        copy.attribute.extend(node.attribute)
        nodes.append(copy)
        out = node.output[0]
        if node.op_type == "Relu" or out in signed:
            if out not in ranges:
                raise QuantizeError(f"no calibration range for {out}")
            if node.op_type == "Relu":
                qdq(out, max(ranges[out], 1e-6) / 255.0)
            else:
                qdq(out, max(ranges[out], 1e-6) / 127.0, 128)
        elif node.op_type == "MaxPool" and node.input[0] in grid_of:
            qdq(out, *grid_of[node.input[0]])  # the same grid: the pool runs on the bytes
    if convs == 0:
        raise QuantizeError("the graph has no convolution to quantise")
    used = {i for n in nodes for i in n.input}
    kept = [t for t in graph.initializer if t.name in used]
    new_graph = helper.make_graph(nodes, graph.name, graph.input, graph.output, kept + inits)
    out_model = helper.make_model(new_graph, opset_imports=list(model.opset_import), producer_name=model.producer_name)
    out_model.ir_version = model.ir_version
    out_model.doc_string = (model.doc_string + f"; int8 (QDQ): {weight_bits}-bit per-channel weights, "
                            "uint8 activations").lstrip("; ")
    onnx.checker.check_model(out_model)
    return out_model


def _reference_embeddings(model: onnx.ModelProto, faces_u8: np.ndarray) -> np.ndarray:
    x = faces_u8.astype(np.float32)[:, None] / 255.0
    return np.concatenate([run_reference(model, x[i:i + REFERENCE_BATCH]) for i in range(0, len(x), REFERENCE_BATCH)])


def compare(float_model: onnx.ModelProto, quant_model: onnx.ModelProto, faces_u8: np.ndarray) -> dict:
    a, b = _reference_embeddings(float_model, faces_u8), _reference_embeddings(quant_model, faces_u8)
    cos = (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return {"faces": int(len(faces_u8)), "min_cosine": float(cos.min()), "mean_cosine": float(cos.mean()),
            "max_abs_diff": float(np.abs(a - b).max())}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m fvtrain.quantize", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="a float model.onnx written by fvtrain")
    p.add_argument("--crops", required=True, help="crop directory the calibration faces come from")
    p.add_argument("--exclude-pairs", action="append", default=[], metavar="FILE",
                   help="pairs file whose people never serve as calibration faces (repeatable)")
    p.add_argument("--exclude-fold", type=int, default=None, metavar="K",
                   help="only exclude fold K (0-based) of 10-fold pairs files, as fvtrain's option of that name")
    p.add_argument("--out", required=True, help="the int8 model to write (a JSON report goes next to it)")
    p.add_argument("--weight-bits", type=int, default=DEFAULT_WEIGHT_BITS)
    p.add_argument("--calibration-faces", type=int, default=DEFAULT_CALIBRATION_FACES)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.calibration_faces < 1:
        raise SystemExit("--calibration-faces must be at least 1")
    if not 2 <= args.weight_bits <= 8:
        raise SystemExit(f"--weight-bits must lie in 2..8, not {args.weight_bits}")
    if os.path.abspath(args.out) == os.path.abspath(args.model):
        raise SystemExit("--out must not overwrite --model")
    try:
        excluded, exclusions = excluded_people(args.exclude_pairs, args.exclude_fold)
    except ValueError as err:
        raise SystemExit(str(err)) from None
    try:
        model = onnx.load(args.model)
        onnx.checker.check_model(model)
    except Exception as err:  # a missing file, or bytes that are not an ONNX graph
        raise SystemExit(f"cannot read {args.model} as an ONNX model: {err}") from None
    try:
        crops = load_crops(args.crops)
    except (OSError, ValueError) as err:
        raise SystemExit(f"cannot read the crops in {args.crops}: {err}") from None
    pool = np.array([i for i, name in enumerate(crops.names) if name not in excluded and crops.detected[i]])
    if len(pool) < args.calibration_faces + CHECK_FACES:
        raise SystemExit(f"only {len(pool)} detected faces outside the excluded people; "
                         f"{args.calibration_faces} calibration + {CHECK_FACES} check faces are needed")
    draw = np.random.RandomState(args.seed).permutation(pool)
    calibration, check = draw[:args.calibration_faces], draw[args.calibration_faces:args.calibration_faces + CHECK_FACES]
    try:
        ranges = activation_ranges(model, crops.images[calibration])
        quant = quantize_model(model, ranges, args.weight_bits)
    except (QuantizeError, NotImplementedError, KeyError) as err:
        raise SystemExit(f"cannot quantise {args.model}: {err}") from None
    checked = compare(model, quant, crops.images[check])
    if checked["min_cosine"] < MIN_CHECK_COSINE:
        raise SystemExit(f"the int8 graph's embeddings drift from the float graph's (min cosine "
                         f"{checked['min_cosine']:.4f} < {MIN_CHECK_COSINE}); nothing written")
    out_dir = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    onnx.save(quant, args.out)
    size, sha = file_digest(args.out)
    src_size, src_sha = file_digest(args.model)
    report = {
        "command": " ".join([sys.executable, "-m", "fvtrain.quantize"] + (sys.argv[1:] if argv is None else list(argv))),
        "source": {"file": os.path.abspath(args.model), "bytes": src_size, "sha256": src_sha},
        "output": {"file": os.path.abspath(args.out), "bytes": size, "sha256": sha},
        "weight_bits": args.weight_bits,
        "activations": "uint8, one scale per tensor (calibration maximum); the embedding conv's output with zero point 128",
        "calibration": {"crops": os.path.abspath(args.crops), "faces": int(len(calibration)), "seed": args.seed,
                        "exclusions": exclusions, "excluded_people": len(excluded)},
        "ranges": ranges,
        "check": checked,
    }
    report_path = os.path.splitext(args.out)[0] + ".json"
    with open(report_path, "w", encoding="utf-8") as fh:
        json.dump(report, fh, indent=2)
        fh.write("\n")
    print(f"wrote {args.out} ({size / 1024:.0f} KiB from {src_size / 1024:.0f} KiB; {args.weight_bits}-bit weights, "
          f"{len(calibration)} calibration faces; vs float on {checked['faces']} faces: min cosine "
          f"{checked['min_cosine']:.5f}, max |diff| {checked['max_abs_diff']:.2e}) and {report_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
