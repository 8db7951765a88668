"""Static int8 quantisation of the landmark net (`fvtrain.landmarks`' graph):
`python -m fvtrain.quantize_landmarks --model landmarks.onnx --chips DIR --exclude-pairs FILE --out OUT.onnx`.

The served landmark net is face-api's 68-point net in float: a quarter of a lone session's CPU. Its
convolutions run on onnxruntime's integer kernels once the graph is in QDQ form (QuantizeLinear /
DequantizeLinear pairs), which onnxruntime fuses into QLinearConv and QLinearAdd when it loads the file.
The rewrite, op by op:

- the float weights' dequantisation subgraphs (tfjs's uint8 storage) are folded into constants, and
  each bias Add into its convolution;
- the input: face-api repeats the grey chip into RGB, subtracts its mean colour and divides by 255.
  The first convolution takes the grey chip directly instead, its weights summed over the three
  colours; the chip enters as `grey - PAD_GREY` on a uint8 grid of step 1 whose zero point is PAD_GREY,
  so each grey level is exact and the convolution's zero padding (one row and column after, TF's
  'same' at stride 2) stands for the grey PAD_GREY where the float net padded each colour with its own
  mean. The mean colour's offset from PAD_GREY moves into the bias; only that one padded row and
  column differ from the float net;
- weights: per output channel, symmetric int8 with 7 bits (|q| <= 63), for the reason
  `fvtrain.quantize` gives (AVX2's vpmaddubsw saturates 255 x 127 x 2); biases int32;
- activations: uint8, one scale per tensor from the calibration chips' range: ReLU outputs from 0
  (onnxruntime drops a ReLU that a zero-point-0 quantisation follows), signed tensors (depthwise
  outputs, separable outputs, the dense blocks' running sums) with a zero point;
- a dense block's running sum feeds both the next sum and, through a ReLU, the next convolution: its
  Add is written twice, once quantised as the sum and once followed by the ReLU and quantised as
  that, so both fuse into integer adds;
- the last block's ReLU, the average pool and the fully connected layer stay float (a 256×7×7 tensor).

Calibration chips are cut by the serving code (`npm run landmark-chips`) from people outside every
--exclude-pairs file; a second, disjoint draw checks the int8 graph (simulated: the same quantisation
in float64 with torch) against the float net, in pixels of the 112 px chip. The eval CLI, the shared
clips and the liveness suite measure what the change does to the product.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import helper, numpy_helper

from .cli import file_digest
from .data import excluded_people

SIDE = 112
PAD_GREY = 115  # about face-api's mean colour (122.8, 117.0, 104.3) as one grey level
DEFAULT_WEIGHT_BITS = 7
DEFAULT_CALIBRATION_CHIPS = 512
CHECK_CHIPS = 256
# The int8 graph's landmarks against the float net's on the check chips, in chip pixels: the largest
# mean displacement allowed, a guard against a broken graph (accuracy is the eval CLI's and the
# liveness suite's). The float net's own error on faces is several pixels.
MAX_CHECK_MEAN_PX = 1.0
BATCH = 64


class QuantizeError(ValueError):
    pass


class Net:
    """The landmark net as a list of float ops over named tensors, weights folded:
    ("conv", x, y, w, b, stride, pads, group), ("add", a, b, y), ("relu", x, y),
    ("avgpool", x, y, kernel, strides), ("flatten", x, y), ("gemm", x, y, w, b)."""

    def __init__(self, ops: list[tuple], output: str):
        self.ops = ops
        self.output = output
        self.consumers: dict[str, list[tuple]] = {}
        for op in ops:
            for name in _inputs(op):
                self.consumers.setdefault(name, []).append(op)

    def run(self, chips_u8: np.ndarray, trace: dict[str, torch.Tensor] | None = None,
            quant: dict[str, tuple[float, int]] | None = None, weight_bits: int | None = None) -> np.ndarray:
        """Landmarks [N,136] for uint8 chips [N,112,112], in float64; with `quant`, every tensor it
        names is rounded to its uint8 grid and the weights and biases to theirs, as the QDQ graph does."""
        env: dict[str, torch.Tensor] = {
            "input": torch.from_numpy(chips_u8.astype(np.float64)[:, None] - PAD_GREY)}

        def grid(name: str) -> None:
            if quant is not None and name in quant:
                s, z = quant[name]
                env[name] = (torch.clamp(torch.round(env[name] / s) + z, 0, 255) - z) * s

        grid("input")
        for op in self.ops:
            kind = op[0]
            if kind == "conv":
                _, x, y, w, b, stride, pads, group = op
                w = torch.from_numpy(w.astype(np.float64))
                b = torch.from_numpy(b.astype(np.float64))
                if quant is not None:
                    w_scale, wq = _weight_grid(op[3], weight_bits)
                    w = torch.from_numpy(wq.astype(np.float64) * w_scale[:, None, None, None])
                    b_scale = quant[x][0] * w_scale
                    b = torch.from_numpy(np.rint(op[4] / b_scale) * b_scale)
                t, left, bottom, right = pads[0], pads[1], pads[2], pads[3]
                xin = F.pad(env[x], (left, right, t, bottom))
                env[y] = F.conv2d(xin, w, b, stride=stride, groups=group)
            elif kind == "add":
                env[op[3]] = env[op[1]] + env[op[2]]
            elif kind == "relu":
                env[op[2]] = torch.relu(env[op[1]])
            elif kind == "avgpool":
                env[op[2]] = F.avg_pool2d(env[op[1]], op[3], op[4])
            elif kind == "flatten":
                env[op[2]] = env[op[1]].reshape(env[op[1]].shape[0], -1)
            elif kind == "gemm":
                env[op[2]] = env[op[1]] @ torch.from_numpy(op[3].astype(np.float64)) + torch.from_numpy(
                    op[4].astype(np.float64))
            grid(_output(op))
            if trace is not None:
                trace[_output(op)] = env[_output(op)]
        return env[self.output].numpy()


def _inputs(op: tuple) -> list[str]:
    return [op[1], op[2]] if op[0] == "add" else [op[1]]


def _output(op: tuple) -> str:
    return op[3] if op[0] == "add" else op[2]


def _weight_grid(w: np.ndarray, weight_bits: int) -> tuple[np.ndarray, np.ndarray]:
    qmax = 2 ** (weight_bits - 1) - 1
    scale = np.maximum(np.abs(w).reshape(len(w), -1).max(axis=1), 1e-12).astype(np.float64) / qmax
    q = np.clip(np.rint(w / scale[:, None, None, None]), -qmax, qmax).astype(np.int8)
    return scale, q


def fold(model: onnx.ModelProto) -> Net:
    """The float net of `fvtrain.landmarks`' graph (see the module docstring)."""
    graph = model.graph
    consts = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    source = graph.input[0].name
    rgb: set[str] = set()
    centred: dict[str, np.ndarray] = {}
    normalised: dict[str, tuple[np.ndarray, float]] = {}
    rename = {source: "input"}
    ops: list[tuple] = []
    conv_of: dict[str, int] = {}  # a conv's output -> its index in ops, while its bias is still to come
    for node in graph.node:
        a = {at.name: helper.get_attribute_value(at) for at in node.attribute}
        ins = list(node.input)
        out = node.output[0]
        kind = node.op_type
        if all(i in consts for i in ins):
            x = [consts[i] for i in ins]
            if kind == "Cast":
                consts[out] = x[0].astype(np.float32)
            elif kind == "Mul":
                consts[out] = x[0] * x[1]
            elif kind == "Add":
                consts[out] = x[0] + x[1]
            elif kind == "Reshape":
                consts[out] = x[0].reshape(x[1])
            else:
                raise QuantizeError(f"cannot fold a constant {kind}")
            continue
        if kind == "Concat" and all(i == source for i in ins):
            rgb.add(out)
        elif kind == "Sub" and ins[0] in rgb and ins[1] in consts:
            centred[out] = consts[ins[1]].reshape(-1).astype(np.float64)
        elif kind == "Div" and ins[0] in centred and ins[1] in consts:
            normalised[out] = (centred[ins[0]], float(consts[ins[1]]))
        elif kind == "Conv":
            w = consts[ins[1]].astype(np.float64)
            b = consts[ins[2]].astype(np.float64) if len(ins) > 2 else np.zeros(len(w))
            x = ins[0]
            if x in normalised:
                mean, div = normalised[x]
                b = b + (w * ((PAD_GREY - mean) / div)[None, :, None, None]).sum(axis=(1, 2, 3))
                w = w.sum(axis=1, keepdims=True) / div
                name = "input"
            else:
                name = rename[x]
            pads = list(a.get("pads", [0, 0, 0, 0]))
            ops.append(("conv", name, out, w, b, a.get("strides", [1, 1])[0], pads, a.get("group", 1)))
            rename[out] = out
            conv_of[out] = len(ops) - 1
        elif kind == "Add" and ins[0] in conv_of and ins[1] in consts:
            i = conv_of.pop(ins[0])
            op = ops[i]
            ops[i] = (op[0], op[1], out, op[3], op[4] + consts[ins[1]].reshape(-1).astype(np.float64), *op[5:])
            rename[out] = out
        elif kind == "Add":
            ops.append(("add", rename[ins[0]], rename[ins[1]], out))
            rename[out] = out
        elif kind == "Relu":
            ops.append(("relu", rename[ins[0]], out))
            rename[out] = out
        elif kind == "AveragePool":
            ops.append(("avgpool", rename[ins[0]], out, a["kernel_shape"], a.get("strides", a["kernel_shape"])))
            rename[out] = out
        elif kind == "Flatten":
            ops.append(("flatten", rename[ins[0]], out))
            rename[out] = out
        elif kind == "Gemm":
            if a.get("transB", 0) or a.get("transA", 0) or a.get("alpha", 1) != 1 or a.get("beta", 1) != 1:
                raise QuantizeError("the fully connected layer must be a plain Gemm")
            ops.append(("gemm", rename[ins[0]], out, consts[ins[1]].astype(np.float64),
                        consts[ins[2]].astype(np.float64)))
            rename[out] = out
        else:
            raise QuantizeError(f"unexpected {kind} node in the landmark graph")
    if not ops or ops[0][0] != "conv" or ops[0][1] != "input":
        raise QuantizeError("the landmark graph does not start with a convolution of the normalised chip")
    return Net(ops, graph.output[0].name)


def quantised_tensors(net: Net) -> dict[str, bool]:
    """The tensors held on a uint8 grid, each with whether it is a ReLU output (zero point 0): every
    convolution's input, and the dense blocks' running sums that feed another sum."""
    out: dict[str, bool] = {"input": False}
    for op in net.ops:
        name = _output(op)
        consumers = net.consumers.get(name, [])
        if op[0] == "relu" and any(c[0] == "conv" for c in consumers):
            out[name] = True
        elif op[0] in ("conv", "add") and any(c[0] in ("conv", "add") for c in consumers):
            out[name] = False
    return out


def calibrate(net: Net, chips: np.ndarray) -> dict[str, tuple[float, int]]:
    """(scale, zero point) for every quantised tensor, from its range over the chips."""
    which = quantised_tensors(net)
    lo = dict.fromkeys(which, 0.0)
    hi = dict.fromkeys(which, 0.0)
    for i in range(0, len(chips), BATCH):
        trace: dict[str, torch.Tensor] = {}
        net.run(chips[i:i + BATCH], trace)
        for name in which:
            if name == "input":
                continue
            lo[name] = min(lo[name], float(trace[name].min()))
            hi[name] = max(hi[name], float(trace[name].max()))
    grids = {"input": (1.0, PAD_GREY)}
    for name, relu in which.items():
        if name == "input":
            continue
        if relu:
            grids[name] = (max(hi[name], 1e-6) / 255.0, 0)
        else:
            scale = max(hi[name] - lo[name], 1e-6) / 255.0
            grids[name] = (scale, int(np.clip(np.rint(-lo[name] / scale), 0, 255)))
    return grids


def to_qdq(net: Net, grids: dict[str, tuple[float, int]], weight_bits: int, source: onnx.ModelProto) -> onnx.ModelProto:
    """The QDQ ONNX graph (see the module docstring)."""
    nodes: list[onnx.NodeProto] = []
    inits: list[onnx.TensorProto] = []
    counter = [0]

    def const(stem: str, value: np.ndarray) -> str:
        counter[0] += 1
        name = f"{stem}_{counter[0]}"
        inits.append(numpy_helper.from_array(value, name))
        return name

    def quantise(float_name: str, grid_name: str) -> str:
        s, z = grids[grid_name]
        q = f"{grid_name}_q"
        nodes.append(helper.make_node("QuantizeLinear", [float_name, const("s", np.array(s, np.float32)),
                                                         const("z", np.array(z, np.uint8))], [q]))
        return q

    def dequantise(name: str) -> str:
        """A DequantizeLinear of `name`'s grid for one consumer (onnxruntime fuses per consumer)."""
        s, z = grids[name]
        counter[0] += 1
        out = f"{name}_dq_{counter[0]}"
        nodes.append(helper.make_node("DequantizeLinear", [f"{name}_q", const("s", np.array(s, np.float32)),
                                                           const("z", np.array(z, np.uint8))], [out]))
        return out

    src_input = source.graph.input[0].name
    nodes.append(helper.make_node("Sub", [src_input, const("pad_grey", np.array(PAD_GREY, np.float32))],
                                  ["input_f"]))
    quantise("input_f", "input")
    floats: dict[str, str] = {}  # tensors kept in float: their ONNX names
    for op in net.ops:
        kind = op[0]
        name = _output(op)
        consumers = net.consumers.get(name, [])
        if kind == "conv":
            _, x, y, w, b, stride, pads, group = op
            w_scale, wq = _weight_grid(w, weight_bits)
            b_scale = grids[x][0] * w_scale
            bq = np.rint(b / b_scale).astype(np.int64)
            if np.abs(bq).max(initial=0) >= 2 ** 31:
                raise QuantizeError(f"conv {y}: a bias does not fit in int32 at its scale")
            w_dq, b_dq = f"{y}_w", f"{y}_b"
            nodes.append(helper.make_node("DequantizeLinear", [
                const("wq", wq), const("ws", w_scale.astype(np.float32)), const("wz", np.zeros(len(w), np.int8))],
                [w_dq], axis=0))
            nodes.append(helper.make_node("DequantizeLinear", [
                const("bq", bq.astype(np.int32)), const("bs", b_scale.astype(np.float32)),
                const("bz", np.zeros(len(w), np.int32))], [b_dq], axis=0))
            nodes.append(helper.make_node("Conv", [dequantise(x), w_dq, b_dq], [f"{y}_f"], kernel_shape=list(
                w.shape[2:]), strides=[stride, stride], pads=list(pads), group=int(group)))
            floats[y] = f"{y}_f"
            if y in grids:
                quantise(f"{y}_f", y)
        elif kind == "add":
            _, a, b, y = op
            if y in grids:  # the running sum, for the next sum
                nodes.append(helper.make_node("Add", [dequantise(a), dequantise(b)], [f"{y}_f"]))
                quantise(f"{y}_f", y)
            for relu in (c for c in consumers if c[0] == "relu"):
                r = relu[2]
                nodes.append(helper.make_node("Add", [dequantise(a), dequantise(b)], [f"{y}_for_{r}"]))
                nodes.append(helper.make_node("Relu", [f"{y}_for_{r}"], [f"{r}_f"]))
                floats[r] = f"{r}_f"
                if r in grids:
                    quantise(f"{r}_f", r)
        elif kind == "relu":
            x = op[1]
            if x in floats and x not in grids:  # a ReLU straight after a convolution
                nodes.append(helper.make_node("Relu", [floats[x]], [f"{name}_f"]))
                floats[name] = f"{name}_f"
                if name in grids:
                    quantise(f"{name}_f", name)
            elif name not in floats:
                raise QuantizeError(f"ReLU {name} follows neither a convolution nor a sum")
        elif kind == "avgpool":
            nodes.append(helper.make_node("AveragePool", [floats[op[1]]], [f"{name}_f"], kernel_shape=list(op[3]),
                                          strides=list(op[4])))
            floats[name] = f"{name}_f"
        elif kind == "flatten":
            nodes.append(helper.make_node("Flatten", [floats[op[1]]], [f"{name}_f"], axis=1))
            floats[name] = f"{name}_f"
        elif kind == "gemm":
            nodes.append(helper.make_node("Gemm", [floats[op[1]], const("fc_w", op[3].astype(np.float32)),
                                                   const("fc_b", op[4].astype(np.float32))], [name]))
    out_graph = helper.make_graph(nodes, source.graph.name, list(source.graph.input), list(source.graph.output), inits)
    model = helper.make_model(out_graph, opset_imports=list(source.opset_import), producer_name="fvtrain.quantize_landmarks")
    model.ir_version = source.ir_version
    model.doc_string = (source.doc_string + f"; int8 (QDQ): {weight_bits}-bit per-channel weights, uint8 "
                        "activations").lstrip("; ")
    onnx.checker.check_model(model)
    return model


def load_chips(directory: str) -> tuple[np.ndarray, list[str]]:
    with open(os.path.join(directory, "meta.json"), encoding="utf-8") as fh:
        meta = json.load(fh)
    if meta.get("side") != SIDE:
        raise ValueError(f"chips of side {meta.get('side')}, not {SIDE}")
    chips = np.fromfile(os.path.join(directory, "chips.u8"), dtype=np.uint8)
    if chips.size != meta["count"] * SIDE * SIDE:
        raise ValueError(f"chips.u8 holds {chips.size} bytes, not {meta['count']} chips")
    with open(os.path.join(directory, "index.tsv"), encoding="utf-8") as fh:
        names = [line.split("\t")[1] for line in fh.read().splitlines()[1:]]
    if len(names) != meta["count"]:
        raise ValueError(f"index.tsv lists {len(names)} chips, not {meta['count']}")
    return chips.reshape(-1, SIDE, SIDE), names


def compare(net: Net, grids: dict, weight_bits: int, chips: np.ndarray) -> dict:
    """The simulated int8 landmarks against the float net's, in chip pixels."""
    a = np.concatenate([net.run(chips[i:i + BATCH]) for i in range(0, len(chips), BATCH)])
    b = np.concatenate([net.run(chips[i:i + BATCH], quant=grids, weight_bits=weight_bits)
                        for i in range(0, len(chips), BATCH)])
    d = np.linalg.norm((a - b).reshape(len(chips), 68, 2), axis=2) * SIDE
    return {"chips": int(len(chips)), "mean_px": float(d.mean()), "p99_px": float(np.percentile(d, 99)),
            "max_px": float(d.max())}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m fvtrain.quantize_landmarks", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="the float landmark net (fvtrain.landmarks' graph)")
    p.add_argument("--chips", required=True, help="directory written by `npm run landmark-chips`")
    p.add_argument("--exclude-pairs", action="append", default=[], metavar="FILE",
                   help="pairs file whose people never serve as calibration or check chips (repeatable)")
    p.add_argument("--out", required=True, help="the int8 net to write (a JSON report goes next to it)")
    p.add_argument("--weight-bits", type=int, default=DEFAULT_WEIGHT_BITS)
    p.add_argument("--calibration-chips", type=int, default=DEFAULT_CALIBRATION_CHIPS)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.calibration_chips < 1:
        raise SystemExit("--calibration-chips must be at least 1")
    if not 2 <= args.weight_bits <= 8:
        raise SystemExit(f"--weight-bits must lie in 2..8, not {args.weight_bits}")
    if os.path.abspath(args.out) == os.path.abspath(args.model):
        raise SystemExit("--out must not overwrite --model")
    try:
        excluded, exclusions = excluded_people(args.exclude_pairs)
    except ValueError as err:
        raise SystemExit(str(err)) from None
    try:
        model = onnx.load(args.model)
        onnx.checker.check_model(model)
    except Exception as err:  # a missing file, or bytes that are not an ONNX graph
        raise SystemExit(f"cannot read {args.model} as an ONNX model: {err}") from None
    try:
        chips, names = load_chips(args.chips)
    except (OSError, ValueError, KeyError) as err:
        raise SystemExit(f"cannot read the chips in {args.chips}: {err}") from None
    pool = np.array([i for i, name in enumerate(names) if name not in excluded])
    if len(pool) < args.calibration_chips + CHECK_CHIPS:
        raise SystemExit(f"only {len(pool)} chips outside the excluded people; "
                         f"{args.calibration_chips} calibration + {CHECK_CHIPS} check chips are needed")
    draw = np.random.RandomState(args.seed).permutation(pool)
    calibration = draw[:args.calibration_chips]
    check = draw[args.calibration_chips:args.calibration_chips + CHECK_CHIPS]
    try:
        net = fold(model)
        grids = calibrate(net, chips[calibration])
        quant = to_qdq(net, grids, args.weight_bits, model)
    except (QuantizeError, KeyError) as err:
        raise SystemExit(f"cannot quantise {args.model}: {err}") from None
    checked = compare(net, grids, args.weight_bits, chips[check])
    if checked["mean_px"] > MAX_CHECK_MEAN_PX:
        raise SystemExit(f"the int8 graph's landmarks drift from the float net's (mean {checked['mean_px']:.2f} px "
                         f"> {MAX_CHECK_MEAN_PX} px of the {SIDE} px chip); nothing written")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    onnx.save(quant, args.out)
    size, sha = file_digest(args.out)
    src_size, src_sha = file_digest(args.model)
    report = {
        "command": " ".join([sys.executable, "-m", "fvtrain.quantize_landmarks"] +
                            (sys.argv[1:] if argv is None else list(argv))),
        "source": {"file": os.path.abspath(args.model), "bytes": src_size, "sha256": src_sha},
        "output": {"file": os.path.abspath(args.out), "bytes": size, "sha256": sha},
        "weight_bits": args.weight_bits,
        "pad_grey": PAD_GREY,
        "calibration": {"chips": os.path.abspath(args.chips), "count": int(len(calibration)), "seed": args.seed,
                        "exclusions": exclusions, "excluded_people": len(excluded)},
        "grids": {k: {"scale": v[0], "zero_point": v[1]} for k, v in grids.items()},
        "check": checked,
    }
    report_path = os.path.splitext(args.out)[0] + ".json"
    with open(report_path, "w", encoding="utf-8") as fh:
        json.dump(report, fh, indent=2)
        fh.write("\n")
    print(f"wrote {args.out} ({size / 1024:.0f} KiB from {src_size / 1024:.0f} KiB; {args.weight_bits}-bit weights, "
          f"{len(calibration)} calibration chips; against the float net on {checked['chips']} chips: mean "
          f"{checked['mean_px']:.3f} px, p99 {checked['p99_px']:.3f} px, max {checked['max_px']:.3f} px) "
          f"and {report_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
