"""int8 quantisation: the QDQ graph, its arithmetic in the reference interpreter, and the CLI.

Run from the repository root:
    /usr/bin/python3 -m unittest discover -s packages/training/tests
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import unittest

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fvtrain.export import export_onnx, run_reference  # noqa: E402
from fvtrain.model import SiameseNet, parse_widths  # noqa: E402
from fvtrain.quantize import QuantizeError, activation_ranges, compare, main, quantize_model  # noqa: E402

from test_smoke import write_fake_crops  # noqa: E402


def small_net() -> SiameseNet:
    torch.manual_seed(0)
    net = SiameseNet(parse_widths("8,16,32+32"), 3, 16)
    net.train()
    with torch.no_grad():  # non-trivial BatchNorm statistics to fold
        for _ in range(4):
            net(torch.rand(32, 1, 62, 47))
    return net.eval()


def faces(n: int, seed: int) -> np.ndarray:
    """Smooth face-sized images (random blobs), not white noise, so activations look like a face's."""
    rng = np.random.RandomState(seed)
    small = rng.randint(0, 256, (n, 8, 6)).astype(np.float32)
    big = torch.nn.functional.interpolate(torch.from_numpy(small)[:, None], size=(62, 47), mode="bilinear",
                                          align_corners=False)[:, 0].numpy()
    return np.clip(big + rng.randn(n, 62, 47) * 8, 0, 255).astype(np.uint8)


class QuantizedGraphTest(unittest.TestCase):
    def test_qdq_graph_of_an_fp16_export(self):
        net = small_net()
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model.onnx")
            export_onnx(net, path, "fp16")
            model = onnx.load(path)
            ranges = activation_ranges(model, faces(48, 1))
            quant = quantize_model(model, ranges, weight_bits=7)

        ops = [n.op_type for n in quant.graph.node]
        self.assertEqual(ops.count("Conv"), 5)  # the 4 feature convs and the embedding conv, none lost
        self.assertNotIn("Cast", ops)  # the fp16 weights were read through their Casts and dropped
        # On a uint8 grid: the input, 4 ReLU outputs, 3 stage pools, the embedding conv's output and
        # its global max pool; the last two signed, with zero point 128.
        self.assertEqual(ops.count("QuantizeLinear"), 1 + 4 + 3 + 1 + 1)
        zero_points = [int(numpy_helper.to_array(t)) for t in quant.graph.initializer
                       if t.name.endswith("_zero_point") and t.data_type == onnx.TensorProto.UINT8]
        self.assertEqual(sorted(zero_points), [0] * 8 + [128] * 2)
        self.assertNotIn("QuantizeLinear", ops[ops.index("Flatten"):])  # the L2 normalisation stays float
        inits = {t.name: numpy_helper.to_array(t) for t in quant.graph.initializer}
        weights = [v for k, v in inits.items() if k.endswith("_weight_q")]
        self.assertEqual(len(weights), 5)
        for w in weights:
            self.assertEqual(w.dtype, np.int8)
            self.assertLessEqual(int(np.abs(w).max()), 63)
            self.assertEqual(int(np.abs(w).max()), 63)  # per-channel scale: each conv uses the full range
        self.assertFalse([t for t in quant.graph.initializer if t.data_type in (onnx.TensorProto.FLOAT16,)])
        # the input grid is exact: byte / 255 at scale 1/255
        self.assertAlmostEqual(float(inits["input_scale"]), 1 / 255, places=9)

        # The embeddings stay close to the float graph's; 3-bit weights visibly do not.
        check = compare(model, quant, faces(16, 2))
        self.assertGreater(check["min_cosine"], 0.99)
        coarse = compare(model, quantize_model(model, ranges, weight_bits=3), faces(16, 2))
        self.assertLess(coarse["mean_cosine"], check["mean_cosine"])
        self.assertGreater(check["max_abs_diff"], 0)  # it really was quantised

    def test_reference_interpreter_quantises_like_onnx(self):
        # QuantizeLinear rounds half to even and saturates; DequantizeLinear scales per axis.
        x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 2, 1, 4])
        y = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 2, 1, 4])
        inits = [numpy_helper.from_array(np.array(0.5, np.float32), "s"),
                 numpy_helper.from_array(np.array(0, np.uint8), "z"),
                 numpy_helper.from_array(np.array([[[[1, -2]]], [[[3, 4]]]], np.int8), "w"),
                 numpy_helper.from_array(np.array([0.5, 2.0], np.float32), "ws"),
                 numpy_helper.from_array(np.zeros(2, np.int8), "wz")]
        nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"]),
                 helper.make_node("DequantizeLinear", ["q", "s", "z"], ["xd"]),
                 helper.make_node("DequantizeLinear", ["w", "ws", "wz"], ["wd"], axis=0),
                 helper.make_node("Conv", ["xd", "wd"], ["y"], kernel_shape=[1, 2], group=2)]
        model = helper.make_model(helper.make_graph(nodes, "g", [x], [y], inits),
                                  opset_imports=[helper.make_opsetid("", 13)])
        onnx.checker.check_model(model)
        inp = np.array([[[[0.25, 0.75, 200.0, -1.0]], [[1.25, 0.4, 0.6, 1.0]]]], np.float32)
        trace: dict[str, np.ndarray] = {}
        run_reference(model, inp, trace)
        # 0.5 and 1.5 round to 0 and 2 (half to even), 400 saturates at 255, -2 at 0
        np.testing.assert_array_equal(trace["q"][0, 0, 0], [0, 2, 255, 0])
        np.testing.assert_array_equal(trace["q"][0, 1, 0], [2, 1, 1, 2])
        np.testing.assert_allclose(trace["wd"][:, 0, 0], [[0.5, -1.0], [6.0, 8.0]])

    def test_refuses_what_it_cannot_quantise(self):
        net = small_net()
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model.onnx")
            export_onnx(net, path)
            model = onnx.load(path)
        ranges = activation_ranges(model, faces(8, 3))
        for bits in (1, 9):
            with self.assertRaises(QuantizeError):
                quantize_model(model, ranges, bits)
        with self.assertRaisesRegex(QuantizeError, "calibration range"):
            quantize_model(model, {}, 7)
        # A conv fed by a sum of ReLU outputs has no uint8 grid to read.
        x = helper.make_tensor_value_info("input", onnx.TensorProto.FLOAT, ["N", 1, 62, 47])
        y = helper.make_tensor_value_info("embedding", onnx.TensorProto.FLOAT, ["N", 2, 62, 47])
        w = numpy_helper.from_array(np.ones((2, 1, 3, 3), np.float32), "w")
        w2 = numpy_helper.from_array(np.ones((2, 2, 3, 3), np.float32), "w2")
        b = numpy_helper.from_array(np.zeros(2, np.float32), "b")
        summed = helper.make_model(helper.make_graph(
            [helper.make_node("Conv", ["input", "w", "b"], ["c1"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r"]),
             helper.make_node("Add", ["r", "r"], ["sum"]),
             helper.make_node("Conv", ["sum", "w2", "b"], ["embedding"], pads=[1, 1, 1, 1])],
            "g", [x], [y], [w, w2, b]), opset_imports=[helper.make_opsetid("", 13)])
        with self.assertRaisesRegex(QuantizeError, "not on a uint8 grid"):
            quantize_model(summed, {"r": 1.0, "embedding": 1.0}, 7)


class QuantizeCliTest(unittest.TestCase):
    def test_cli_writes_model_and_report_and_keeps_excluded_people_out(self):
        net = small_net()
        with tempfile.TemporaryDirectory() as tmp:
            crops = os.path.join(tmp, "crops")
            os.makedirs(crops)
            names = write_fake_crops(crops, people=12, per_person=8, singles=6)  # 102 faces
            pairs = os.path.join(tmp, "pairs.txt")
            with open(pairs, "w", encoding="utf-8") as fh:  # two people's 16 faces are off limits
                fh.write(f"1\n{names[0]}\t1\t2\n{names[0]}\t1\t{names[1]}\t1\n")
            model = os.path.join(tmp, "model.onnx")
            export_onnx(net, model, "fp16")
            out = os.path.join(tmp, "int8", "model.onnx")
            args = ["--model", model, "--crops", crops, "--exclude-pairs", pairs, "--out", out,
                    "--calibration-faces", "20"]
            self.assertEqual(main(args), 0)
            with open(os.path.join(tmp, "int8", "model.json"), encoding="utf-8") as fh:
                report = json.load(fh)
            self.assertEqual(report["calibration"]["excluded_people"], 2)
            self.assertEqual(report["calibration"]["faces"], 20)
            self.assertEqual(report["weight_bits"], 7)
            self.assertEqual(report["output"]["bytes"], os.path.getsize(out))
            self.assertGreater(report["check"]["min_cosine"], 0.99)
            self.assertLess(os.path.getsize(out), os.path.getsize(model))
            onnx.checker.check_model(onnx.load(out))

            # 102 faces, 16 excluded: 86 left, fewer than 30 + the 64 check faces
            with self.assertRaisesRegex(SystemExit, "only 86 detected faces"):
                main(args[:-1] + ["30"])
            with self.assertRaisesRegex(SystemExit, "must not overwrite"):
                main(["--model", model, "--crops", crops, "--out", model])
            with self.assertRaisesRegex(SystemExit, "at least 1"):
                main(args[:-1] + ["0"])
            with self.assertRaisesRegex(SystemExit, "no --exclude-pairs file has folds"):
                main(args + ["--exclude-fold", "3"])
            with self.assertRaisesRegex(SystemExit, "2..8"):
                main(args + ["--weight-bits", "9"])
            with open(os.path.join(tmp, "junk.onnx"), "wb") as fh:
                fh.write(b"not a graph")
            for bad in ("junk.onnx", "missing.onnx"):
                with self.assertRaisesRegex(SystemExit, "as an ONNX model"):
                    main(["--model", os.path.join(tmp, bad), "--crops", crops, "--out", out])
            with self.assertRaisesRegex(SystemExit, "cannot read the crops"):
                main(["--model", model, "--crops", os.path.join(tmp, "nowhere"), "--out", out])


if __name__ == "__main__":
    unittest.main()
