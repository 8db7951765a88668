"""The committed serving landmark net is exactly what fvtrain.landmarks builds from face-api's weights.

Run from the repository root:
    /usr/bin/python3 -m unittest discover -s packages/training/tests
"""
from __future__ import annotations

import hashlib
import os
import sys
import unittest

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

from fvtrain.landmarks import build  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
FACE_API_MODELS = os.path.join(ROOT, "node_modules", "@vladmandic", "face-api", "model")
COMMITTED = os.path.join(ROOT, "models", "siamese-v5-int8", "landmarks.onnx")


class LandmarkExportTest(unittest.TestCase):
    def test_rebuild_matches_committed_file(self):
        if not os.path.isdir(FACE_API_MODELS):
            self.fail(f"{FACE_API_MODELS} missing: run npm ci first")
        built = build(FACE_API_MODELS, tiny=False).SerializeToString()
        with open(COMMITTED, "rb") as fh:
            committed = fh.read()
        self.assertEqual(hashlib.sha256(built).hexdigest(), hashlib.sha256(committed).hexdigest())

    def test_graph_shape(self):
        model = build(FACE_API_MODELS, tiny=True)
        self.assertEqual([i.name for i in model.graph.input], ["image"])
        dims = [d.dim_value for d in model.graph.output[0].type.tensor_type.shape.dim[1:]]
        self.assertEqual(dims, [136])


if __name__ == "__main__":
    unittest.main()
