"""Converts face-api's 68-point landmark net (tfjs weights, MIT) into an ONNX graph that serving
runs with onnxruntime before cutting an aligned 62×47 crop.

    python3 -m fvtrain.landmarks <face-api model dir> <out.onnx> [--tiny]

The graph is built op by op from face-api's own definition (src/faceFeatureExtractor): dense blocks
of depthwise-separable 3×3 convolutions with TensorFlow's 'same' padding, a 7×7 (tiny: 14×14)
average pool and a fully connected layer to 136 values (x0, y0, x1, … relative to the input square).
Weights stay uint8 as shipped; the graph dequantises them (q · scale + min, exactly tfjs's rule) in
constant subgraphs that onnxruntime folds at load, so the file is as small as the original.

Input `image` [N,1,112,112] float32 grey levels 0–255 (the graph repeats them into face-api's RGB
input and subtracts its mean colour); output `landmarks` [N,136].
"""
from __future__ import annotations

import argparse
import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13
INPUT = 112
MEAN_RGB = (122.782, 117.001, 104.298)


def load_weights(model_dir: str, name: str) -> dict[str, np.ndarray]:
    """Reads a tfjs weights manifest into {name: (uint8 array, scale, min) or float array}."""
    with open(os.path.join(model_dir, f"{name}-weights_manifest.json")) as f:
        manifest = json.load(f)
    out: dict[str, tuple] = {}
    for group in manifest:
        blob = b"".join(open(os.path.join(model_dir, p), "rb").read() for p in group["paths"])
        offset = 0
        for w in group["weights"]:
            count = int(np.prod(w["shape"])) if w["shape"] else 1
            q = w.get("quantization")
            if q is not None:
                if q["dtype"] != "uint8":
                    raise ValueError(f"{w['name']}: unsupported quantisation {q['dtype']}")
                data = np.frombuffer(blob, dtype=np.uint8, count=count, offset=offset).reshape(w["shape"])
                out[w["name"]] = (data, float(q["scale"]), float(q["min"]))
                offset += count
            else:
                data = np.frombuffer(blob, dtype=np.float32, count=count, offset=offset).reshape(w["shape"])
                out[w["name"]] = (data, None, None)
                offset += count * 4
        if offset != len(blob):
            raise ValueError(f"{name}: {len(blob) - offset} bytes left after the manifest's weights")
    return out


class Graph:
    def __init__(self, weights: dict[str, tuple]):
        self.weights = weights
        self.nodes: list = []
        self.inits: list = []
        self.count = 0

    def tmp(self, stem: str) -> str:
        self.count += 1
        return f"{stem}_{self.count}"

    def const(self, name: str, value: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(value, name))
        return name

    def weight(self, name: str, perm: tuple[int, ...] | None) -> str:
        """A tfjs weight as a float tensor, transposed from TF's layout into ONNX's."""
        data, scale, minimum = self.weights[name]
        if perm is not None:
            data = np.ascontiguousarray(data.transpose(perm))
        key = name.replace("/", "_")
        if scale is None:
            return self.const(key, data.astype(np.float32))
        q = self.const(f"{key}_q", data)
        as_float = self.tmp(f"{key}_f")
        self.nodes.append(helper.make_node("Cast", [q], [as_float], to=TensorProto.FLOAT))
        scaled = self.tmp(f"{key}_s")
        self.nodes.append(helper.make_node(
            "Mul", [as_float, self.const(f"{key}_scale", np.array(scale, np.float32))], [scaled]))
        self.nodes.append(helper.make_node(
            "Add", [scaled, self.const(f"{key}_min", np.array(minimum, np.float32))], [key]))
        return key

    def op(self, kind: str, inputs: list[str], stem: str, **attrs) -> str:
        out = self.tmp(stem)
        self.nodes.append(helper.make_node(kind, inputs, [out], **attrs))
        return out

    @staticmethod
    def same_pads(stride: int) -> list[int]:
        # TensorFlow 'same' for a 3×3 kernel on an even side: stride 1 pads 1 on each side, stride 2
        # pads only after (total (ceil(n/2)-1)·2 + 3 − n = 1, and TF puts the odd pixel at the end).
        return [1, 1, 1, 1] if stride == 1 else [0, 0, 1, 1]

    def bias(self, name: str) -> str:
        b = self.weight(name, None)
        return self.op("Reshape", [b, self.const(f"{name.replace('/', '_')}_shape",
                                                 np.array([1, -1, 1, 1], np.int64))], "bias")

    def conv(self, x: str, prefix: str, stride: int) -> str:
        w = self.weight(f"{prefix}/filters", (3, 2, 0, 1))
        y = self.op("Conv", [x, w], "conv", kernel_shape=[3, 3], strides=[stride, stride],
                    pads=self.same_pads(stride))
        return self.op("Add", [y, self.bias(f"{prefix}/bias")], "conv_b")

    def separable(self, x: str, prefix: str, stride: int) -> str:
        depth = self.weights[f"{prefix}/depthwise_filter"][0].shape[2]
        dw = self.weight(f"{prefix}/depthwise_filter", (2, 3, 0, 1))
        y = self.op("Conv", [x, dw], "dw", kernel_shape=[3, 3], strides=[stride, stride],
                    pads=self.same_pads(stride), group=int(depth))
        pw = self.weight(f"{prefix}/pointwise_filter", (3, 2, 0, 1))
        y = self.op("Conv", [y, pw], "pw", kernel_shape=[1, 1])
        return self.op("Add", [y, self.bias(f"{prefix}/bias")], "sep_b")

    def dense_block(self, x: str, prefix: str, convs: int, first: bool) -> str:
        out1 = self.op("Relu", [self.conv(x, f"{prefix}/conv0", 2) if first
                                else self.separable(x, f"{prefix}/conv0", 2)], "relu")
        total = out1
        current = out1
        for k in range(1, convs):
            out_k = self.separable(current, f"{prefix}/conv{k}", 1)
            total = self.op("Add", [total, out_k], "sum")
            current = self.op("Relu", [total], "relu")
        return current


def build(model_dir: str, tiny: bool) -> onnx.ModelProto:
    name = "face_landmark_68_tiny_model" if tiny else "face_landmark_68_model"
    g = Graph(load_weights(model_dir, name))
    rgb = g.op("Concat", ["image", "image", "image"], "rgb", axis=1)
    centred = g.op("Sub", [rgb, g.const("mean_rgb", np.array(MEAN_RGB, np.float32).reshape(1, 3, 1, 1))],
                   "centred")
    x = g.op("Div", [centred, g.const("grey_levels", np.array(255, np.float32))], "normalised")
    blocks, convs, pool = (3, 3, 14) if tiny else (4, 4, 7)
    for b in range(blocks):
        x = g.dense_block(x, f"dense{b}", convs, first=b == 0)
    x = g.op("AveragePool", [x], "pool", kernel_shape=[pool, pool], strides=[2, 2])
    x = g.op("Flatten", [x], "flat", axis=1)
    g.nodes.append(helper.make_node("Gemm", [x, g.weight("fc/weights", None), g.weight("fc/bias", None)],
                                    ["landmarks"]))
    graph = helper.make_graph(
        g.nodes, name,
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 1, INPUT, INPUT])],
        [helper.make_tensor_value_info("landmarks", TensorProto.FLOAT, ["batch", 136])],
        g.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="fvtrain.landmarks")
    model.doc_string = (f"face-api {name} (MIT, vladmandic/face-api) converted to ONNX; input grey 0-255 "
                        f"[N,1,{INPUT},{INPUT}], output 68 (x,y) relative to the input square [N,136]")
    onnx.checker.check_model(model)
    return model


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir", help="face-api's model/ folder")
    parser.add_argument("out", help="output .onnx path")
    parser.add_argument("--tiny", action="store_true", help="the tiny 68-point net instead of the full one")
    args = parser.parse_args()
    model = build(args.model_dir, args.tiny)
    onnx.save(model, args.out)
    print(f"wrote {args.out}: {os.path.getsize(args.out)} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
