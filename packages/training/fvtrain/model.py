"""Siamese embedding branch: Conv-BN-ReLU-MaxPool blocks, conv to 48 channels,
global max pooling and L2 normalisation (all inside the exported graph)."""
from __future__ import annotations

import copy

import torch
from torch import nn

INPUT_HEIGHT = 62
INPUT_WIDTH = 47
EMBEDDING_DIM = 48

# (out_channels, kernel_size) per block; every block ends with a 2x2 max pool. A block may
# also be a sequence of such convs (a stage: several Conv-BN-ReLU, then one pool).
DEFAULT_BLOCKS = ((32, 3), (48, 3), (96, 3), (160, 3))
DEFAULT_HEAD_KERNEL = 3


def as_stages(blocks) -> list[list[tuple[int, int]]]:
    """Normalise a block spec to stages: [(c, k), ...] per stage."""
    stages = []
    for b in blocks:
        if isinstance(b[0], (tuple, list)):
            stages.append([(int(c), int(k)) for c, k in b])
        else:
            stages.append([(int(b[0]), int(b[1]))])
    if not stages or any(not st for st in stages):
        raise ValueError("every stage needs at least one conv")
    return stages


def parse_widths(spec: str, kernel: int = 3) -> list[list[tuple[int, int]]]:
    """"24,48,96+96,128": comma-separated stages, '+' joins the widths of convs sharing a stage."""
    try:
        stages = [[(int(w), kernel) for w in part.split("+")] for part in spec.split(",")]
    except ValueError as err:
        raise ValueError(f"bad widths {spec!r}: {err}") from None
    if not stages or any(c <= 0 for st in stages for c, _ in st):
        raise ValueError(f"bad widths {spec!r}")
    return stages


class L2Normalize(nn.Module):
    def __init__(self, eps: float = 1e-6):
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Written with elementary ops so the ONNX graph stays simple.
        return x / torch.sqrt(torch.sum(x * x, dim=1, keepdim=True) + self.eps)


class GlobalMaxPool(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(nn.functional.adaptive_max_pool2d(x, 1), 1)


class SiameseNet(nn.Module):
    """One branch of the Siamese network; both branches share these weights."""

    def __init__(self, blocks=DEFAULT_BLOCKS, head_kernel: int = DEFAULT_HEAD_KERNEL,
                 embedding_dim: int = EMBEDDING_DIM, head: str = "conv-max"):
        """`head`: "conv-max" (v1: conv `head_kernel` to the embedding, global max pool) or "gdc"
        (MobileFaceNet's global depthwise conv: the last block skips its pool, a depthwise conv
        spanning the whole map weighs every position, BN, then a 1x1 conv to the embedding)."""
        super().__init__()
        if head not in ("conv-max", "gdc"):
            raise ValueError(f"unknown head {head!r}")
        stages = as_stages(blocks)
        self.blocks_spec = stages
        self.head_kernel = head_kernel
        self.head_kind = head
        self.embedding_dim = embedding_dim
        layers: list[nn.Module] = []
        cin = 1
        h, w = INPUT_HEIGHT, INPUT_WIDTH
        for i, stage in enumerate(stages):
            for cout, k in stage:
                layers += [
                    nn.Conv2d(cin, cout, k, padding=k // 2, bias=False),
                    nn.BatchNorm2d(cout),
                    nn.ReLU(inplace=True),
                ]
                cin = cout
            if head != "gdc" or i < len(stages) - 1:
                layers.append(nn.MaxPool2d(2))
                h, w = h // 2, w // 2
        if head == "gdc":
            layers += [nn.Conv2d(cin, cin, (h, w), groups=cin, bias=False), nn.BatchNorm2d(cin)]
            self.gdc_kernel = (h, w)
            self.head = nn.Conv2d(cin, embedding_dim, 1)
        else:
            self.head = nn.Conv2d(cin, embedding_dim, head_kernel, padding=head_kernel // 2)
        self.features = nn.Sequential(*layers)
        self.pool = GlobalMaxPool()
        self.norm = L2Normalize()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.pool(self.head(self.features(x))))

    def describe(self) -> str:
        parts = ["-".join(f"Conv{k}x{k}({c})-BN-ReLU" for c, k in stage) + "-MaxPool2"
                 for stage in self.blocks_spec]
        if self.head_kind == "gdc":
            kh, kw = self.gdc_kernel
            parts[-1] = parts[-1].replace("-MaxPool2", "")
            parts.append(f"DepthwiseConv{kh}x{kw}-BN")
            parts.append(f"Conv1x1({self.embedding_dim})")
        else:
            parts.append(f"Conv{self.head_kernel}x{self.head_kernel}({self.embedding_dim})")
        parts.append("GlobalMaxPool")
        parts.append("L2Normalize")
        return " -> ".join(parts)


def fuse_batchnorm(model: SiameseNet) -> nn.Module:
    """Return an eval-mode copy with every BatchNorm folded into the preceding conv."""
    fused = copy.deepcopy(model).eval()
    seq = fused.features
    new_layers: list[nn.Module] = []
    i = 0
    while i < len(seq):
        layer = seq[i]
        if isinstance(layer, nn.Conv2d) and i + 1 < len(seq) and isinstance(seq[i + 1], nn.BatchNorm2d):
            new_layers.append(torch.nn.utils.fusion.fuse_conv_bn_eval(layer, seq[i + 1]))
            i += 2
        else:
            new_layers.append(layer)
            i += 1
    fused.features = nn.Sequential(*new_layers)
    return fused


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_flops(model: SiameseNet, height: int = INPUT_HEIGHT, width: int = INPUT_WIDTH) -> dict:
    """Multiply-accumulates of convolutions (plus a rough count for BN/ReLU/pool/norm)
    for one face. FLOPs are reported as 2 x MACs + elementwise ops."""
    macs = 0
    other = 0
    hooks = []

    def conv_hook(mod: nn.Conv2d, inp, out):
        nonlocal macs
        kh, kw = mod.kernel_size
        macs += out.numel() * (mod.in_channels // mod.groups) * kh * kw

    def elem_hook(mod, inp, out):
        nonlocal other
        other += inp[0].numel()

    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, (nn.BatchNorm2d, nn.ReLU, nn.MaxPool2d, GlobalMaxPool, L2Normalize)):
            hooks.append(m.register_forward_hook(elem_hook))
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 1, height, width))
    model.train(was_training)
    for h in hooks:
        h.remove()
    return {"macs": int(macs), "flops": int(2 * macs + other)}
