"""face-api's dlib-derived face recognition ResNet (150x150 RGB -> 128-d) in PyTorch, loaded
from the npm package's tfjs weights (`face_recognition_model-weights_manifest.json` + `.bin`).

The same network packages/teacher runs on TensorFlow.js, ported layer for layer (tfjs 'valid'
strided convs, the zero-padded shortcut of its down-sampling blocks, per-channel mean
subtraction), so that training can run the teacher itself on every augmented view the student
sees instead of reading one cached embedding per image."""
from __future__ import annotations

import json
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MANIFEST = "face_recognition_model-weights_manifest.json"
CHIP = 150
DIM = 128
MEAN_RGB = (122.782, 117.001, 104.298)
# (block name, down-sampling) in forward order, after the 7x7 stem and its max pool.
BLOCKS = (
    [("conv32_%d" % i, False) for i in (1, 2, 3)]
    + [("conv64_down", True)] + [("conv64_%d" % i, False) for i in (1, 2, 3)]
    + [("conv128_down", True)] + [("conv128_%d" % i, False) for i in (1, 2)]
    + [("conv256_down", True)] + [("conv256_%d" % i, False) for i in (1, 2)]
    + [("conv256_down_out", True)]
)


def default_model_dir() -> str:
    """`node_modules/@vladmandic/face-api/model` of this repository."""
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.normpath(os.path.join(here, "..", "..", "..", "node_modules", "@vladmandic", "face-api",
                                         "model"))


def read_tfjs_weights(model_dir: str) -> dict[str, np.ndarray]:
    """Every tensor of the manifest, dequantised (uint8 -> q * scale + min) to float32."""
    with open(os.path.join(model_dir, MANIFEST), encoding="utf-8") as fh:
        groups = json.load(fh)
    tensors: dict[str, np.ndarray] = {}
    for group in groups:
        raw = b""
        for name in group["paths"]:
            with open(os.path.join(model_dir, name), "rb") as fh:
                raw += fh.read()
        offset = 0
        for w in group["weights"]:
            count = int(np.prod(w["shape"])) if w["shape"] else 1
            q = w.get("quantization")
            if q is None:
                if w["dtype"] != "float32":
                    raise ValueError(f"{w['name']}: unsupported dtype {w['dtype']}")
                values = np.frombuffer(raw, dtype="<f4", count=count, offset=offset).copy()
                offset += 4 * count
            elif q["dtype"] == "uint8":
                values = np.frombuffer(raw, dtype=np.uint8, count=count, offset=offset) * q["scale"] + q["min"]
                offset += count
            else:
                raise ValueError(f"{w['name']}: unsupported quantisation {q['dtype']}")
            tensors[w["name"]] = np.asarray(values, dtype=np.float32).reshape(w["shape"])
        if offset != len(raw):
            raise ValueError(f"{model_dir}: manifest covers {offset} of {len(raw)} weight bytes")
    return tensors


class ConvScale(nn.Module):
    """tfjs conv (+bias) followed by face-api's per-channel scale layer, folded into one conv."""

    def __init__(self, tensors: dict[str, np.ndarray], prefix: str, stride: int):
        super().__init__()
        filters = torch.from_numpy(tensors[f"{prefix}/conv/filters"]).permute(3, 2, 0, 1)  # HWIO -> OIHW
        gain = torch.from_numpy(tensors[f"{prefix}/scale/weights"])
        bias = torch.from_numpy(tensors[f"{prefix}/conv/bias"]) * gain + torch.from_numpy(tensors[f"{prefix}/scale/biases"])
        k = filters.shape[-1]
        # tfjs 'same' at stride 1 pads (k - 1) / 2 on every side; strided convs are 'valid'.
        self.conv = nn.Conv2d(filters.shape[1], filters.shape[0], k, stride=stride,
                              padding=(k - 1) // 2 if stride == 1 else 0)
        with torch.no_grad():
            self.conv.weight.copy_(filters * gain.view(-1, 1, 1, 1))
            self.conv.bias.copy_(bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Residual(nn.Module):
    def __init__(self, tensors: dict[str, np.ndarray], prefix: str, down: bool):
        super().__init__()
        self.down = down
        self.conv1 = ConvScale(tensors, f"{prefix}/conv1", 2 if down else 1)
        self.conv2 = ConvScale(tensors, f"{prefix}/conv2", 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(F.relu(self.conv1(x)))
        if self.down:
            shortcut = F.avg_pool2d(x, 2, 2)
            # face-api: a strided 'valid' conv can come out one row/column short of the pooled
            # shortcut; it appends zeros at the bottom and right, and zero-pads the channels.
            out = F.pad(out, (0, shortcut.shape[3] - out.shape[3], 0, shortcut.shape[2] - out.shape[2]))
            shortcut = F.pad(shortcut, (0, 0, 0, 0, 0, out.shape[1] - shortcut.shape[1]))
        else:
            shortcut = x
        return F.relu(out + shortcut)


class FaceApiResNet(nn.Module):
    """Input: float [N,3,150,150] RGB in 0-255 (gray replicated to three channels). Output: the
    128-d descriptor, not normalised (as face-api returns it)."""

    def __init__(self, tensors: dict[str, np.ndarray]):
        super().__init__()
        self.stem = ConvScale(tensors, "conv32_down", 2)
        self.blocks = nn.Sequential(*[Residual(tensors, name, down) for name, down in BLOCKS])
        self.fc = nn.Parameter(torch.from_numpy(tensors["fc"]).clone(), requires_grad=False)
        self.register_buffer("mean", torch.tensor(MEAN_RGB).view(1, 3, 1, 1))
        for p in self.parameters():
            p.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (x - self.mean) / 255.0
        x = F.max_pool2d(F.relu(self.stem(x)), 3, 2)
        x = self.blocks(x)
        return x.mean(dim=(2, 3)) @ self.fc


def load_face_api_teacher(model_dir: str | None = None) -> FaceApiResNet:
    return FaceApiResNet(read_tfjs_weights(model_dir or default_model_dir())).eval()
