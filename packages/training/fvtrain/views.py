"""Consistent teacher views: `python -m fvtrain.views --crops DIR --images LFW --out DIR --views V`.

For every face of a landmark-aligned crop directory (prepare-crops --align, which records each
crop's 68 landmarks and face box), cut V augmented views from the original image, each twice through one
transform: the student's 62x47 crop and the teacher's 150x150 dlib chip. The teacher (face-api's
ResNet, fvtrain.teacher) embeds every chip, so each augmented student input has the teacher's
embedding of that same augmented face, not of the unaugmented image ("consistent" distillation).
View 0 is the unaugmented face; its student crop reproduces the prepared crop. Faces whose
landmarks were not trusted (serving cut a box crop) are framed by their box crop instead.

Output: crops.npy (uint8 V x N x 62 x 47), teacher.f32 (float32 V x N x 128, L2-normalised),
rows.u8 (N: 1 where the row has views), meta.json; plus teacher0/, an embedding cache of view 0
that `npm run eval -- --embeddings` scores."""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from . import augment as aug
from .data import load_crops, parse_pairs_people
from .model import INPUT_HEIGHT, INPUT_WIDTH
from .runtime import keep_freed_memory, resolve_device
from .teacher import CHIP, DIM, load_face_api_teacher

# dlib's mean face, landmarks 17-67, in its unit square (the same table as packages/core's
# align/similarity.ts).
MEAN_FACE_X = np.array([
    0.000213256, 0.0752622, 0.18113, 0.29077, 0.393397, 0.586856, 0.689483, 0.799124, 0.904991,
    0.98004, 0.490127, 0.490127, 0.490127, 0.490127, 0.36688, 0.426036, 0.490127, 0.554217,
    0.613373, 0.121737, 0.187122, 0.265825, 0.334606, 0.260918, 0.182743, 0.645647, 0.714428,
    0.793132, 0.858516, 0.79751, 0.719335, 0.254149, 0.340985, 0.428858, 0.490127, 0.551395,
    0.639268, 0.726104, 0.642159, 0.556721, 0.490127, 0.423532, 0.338094, 0.290379, 0.428096,
    0.490127, 0.552157, 0.689874, 0.553364, 0.490127, 0.42689])
MEAN_FACE_Y = np.array([
    0.106454, 0.038915, 0.0187482, 0.0344891, 0.0773906, 0.0773906, 0.0344891, 0.0187482, 0.038915,
    0.106454, 0.203352, 0.307009, 0.409805, 0.515625, 0.587326, 0.609345, 0.628106, 0.609345,
    0.587326, 0.216423, 0.178758, 0.179852, 0.231733, 0.245099, 0.244077, 0.231733, 0.179852,
    0.178758, 0.216423, 0.244077, 0.245099, 0.780233, 0.745405, 0.727388, 0.742578, 0.727388,
    0.745405, 0.780233, 0.864805, 0.902192, 0.909281, 0.902192, 0.864805, 0.784792, 0.778746,
    0.785343, 0.778746, 0.784792, 0.824182, 0.831803, 0.824182])
# packages/core's box crop (image/preprocess.ts CROP_MARGIN): the crop region is 0.78x the Haar box
# wide, at the crop's aspect ratio, its centre 0.05x the box height below the box centre.
BOX_CROP_WIDTH_SCALE, BOX_CROP_CENTRE_SHIFT = 0.78, 0.05
# Where the teacher's chip puts the mean face: dlib's chip with padding 0.25.
TEACHER_PADDING = 0.25
MAX_TAPS = 4


def fit_similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (no reflection) taking points src [K,2] onto dst [K,2], as the 2x3
    matrix [[a, -b, tx], [b, a, ty]] (the fit packages/core's fitSimilarity makes)."""
    ms, md = src.mean(axis=0), dst.mean(axis=0)
    s, d = src - ms, dst - md
    sxx = (s * s).sum()
    a = (s * d).sum() / sxx
    b = (s[:, 0] * d[:, 1] - s[:, 1] * d[:, 0]).sum() / sxx
    tx = md[0] - (a * ms[0] - b * ms[1])
    ty = md[1] - (b * ms[0] + a * ms[1])
    return np.array([[a, -b, tx], [b, a, ty]])


def compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """2x3 affine maps: outer after inner."""
    m = np.vstack([outer, [0, 0, 1]]) @ np.vstack([inner, [0, 0, 1]])
    return m[:2]


def invert(m: np.ndarray) -> np.ndarray:
    return np.linalg.inv(np.vstack([m, [0, 0, 1]]))[:2]


def taps_for(scale: float) -> int:
    """Taps per axis for a warp at `scale` output pixels per image pixel (as serving warps)."""
    return min(MAX_TAPS, max(1, math.ceil(1 / scale - 1e-9)))


def warp(image: torch.Tensor, to_out: list[np.ndarray], width: int, height: int) -> torch.Tensor:
    """Warps one gray image [H,W] (float) through each image->output affine map: bilinear, edges
    repeated, each output pixel the mean of taps x taps samples over its footprint (the serving
    warp's filter). Returns [len(to_out), height, width] on the image's device. One map at a time:
    on the CPU, batching the maps measured slower (45 vs 33 ms for a face's 12 views)."""
    h, w = image.shape
    outs = []
    for m in to_out:
        n = taps_for(math.hypot(m[0, 0], m[1, 0]))
        inv = invert(m)
        # Tap centres in output pixels, mapped to image coordinates (pixel i covers [i, i + 1)).
        ox = (torch.arange(width * n, dtype=torch.float64, device=image.device) + 0.5) / n
        oy = (torch.arange(height * n, dtype=torch.float64, device=image.device) + 0.5) / n
        gy, gx = torch.meshgrid(oy, ox, indexing="ij")
        px = inv[0, 0] * gx + inv[0, 1] * gy + inv[0, 2]
        py = inv[1, 0] * gx + inv[1, 1] * gy + inv[1, 2]
        grid = torch.stack([px / w * 2 - 1, py / h * 2 - 1], dim=-1).float().unsqueeze(0)
        sampled = F.grid_sample(image.view(1, 1, h, w), grid, mode="bilinear", padding_mode="border",
                                align_corners=False)
        outs.append(F.avg_pool2d(sampled, n).view(height, width))
    return torch.stack(outs)


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Blur [N,H,W] with a separable Gaussian of `sigma` pixels, edges repeated."""
    radius = max(1, math.ceil(2.5 * sigma))
    r = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-(r ** 2) / (2 * sigma ** 2))
    k = k / k.sum()
    y = F.pad(x.unsqueeze(1), (radius, radius, radius, radius), mode="replicate")
    y = F.conv2d(y, k.view(1, 1, 1, -1))
    y = F.conv2d(y, k.view(1, 1, -1, 1))
    return y.squeeze(1)


class ViewMaker:
    """The geometry of the student's crop and the teacher's chip for one crop spec, and the
    random augmentations both receive. Augmentation parameters are in student-crop pixels."""

    def __init__(self, template: dict, shift_px: float, scale: float, rotate_deg: float, blur_prob: float,
                 rng: np.random.RandomState):
        first, last = template["points"]
        self.points = np.arange(first, last + 1)
        self.unit = np.stack([MEAN_FACE_X[self.points - 17], MEAN_FACE_Y[self.points - 17]], axis=1)
        s, dx, dy = template["scale"], template["dx"], template["dy"]
        # unit square -> student crop pixels, and -> teacher chip pixels
        self.to_student = np.array([[s, 0, dx], [0, s, dy]])
        t = CHIP / (1 + 2 * TEACHER_PADDING)
        self.to_teacher = np.array([[t, 0, TEACHER_PADDING * t], [0, t, TEACHER_PADDING * t]])
        # augmentation centre: the middle of the student crop, in unit-square coordinates
        self.centre = np.array([(INPUT_WIDTH / 2 - dx) / s, (INPUT_HEIGHT / 2 - dy) / s])
        self.student_px = s
        self.shift_px, self.scale, self.rotate, self.blur_prob = shift_px, scale, rotate_deg, blur_prob
        self.rng = rng

    def augmentation(self) -> dict:
        r = self.rng
        return {
            "flip": bool(r.rand() < 0.5),
            "scale": float(r.uniform(1 - self.scale, 1 + self.scale)),
            "angle": float(r.uniform(-self.rotate, self.rotate) * math.pi / 180),
            "shift": (float(r.uniform(-self.shift_px, self.shift_px)), float(r.uniform(-self.shift_px, self.shift_px))),
            "gamma": float(math.exp(r.uniform(-0.25, 0.25))),
            "contrast": float(r.uniform(0.7, 1.3)),
            "brightness": float(r.uniform(-0.12, 0.12)),
            "blur": float(r.uniform(0.4, 1.1)) if r.rand() < self.blur_prob else 0.0,
            "noise": float(r.uniform(0.0, 0.02)),
        }

    def unit_map(self, aug: dict | None) -> np.ndarray:
        """The augmentation as a map of the unit square onto itself (identity for None)."""
        if aug is None:
            return np.array([[1.0, 0, 0], [0, 1.0, 0]])
        c, k = self.centre, aug["scale"]
        cos, sin = math.cos(aug["angle"]) * k, math.sin(aug["angle"]) * k
        f = -1.0 if aug["flip"] else 1.0
        lin = np.array([[cos * f, -sin], [sin * f, cos]])
        shift = np.array(aug["shift"]) / self.student_px
        return np.hstack([lin, (c - lin @ c + shift).reshape(2, 1)])

    def face_map(self, landmarks: np.ndarray, box: np.ndarray) -> np.ndarray:
        """Image pixels -> the unit square of the crop's frame: the landmark fit the aligned crop
        makes, or where the landmarks were not trusted (NaN), the box crop that serving cut instead,
        read through the same template."""
        if np.isfinite(landmarks).all():
            return fit_similarity(landmarks.reshape(68, 2)[self.points], self.unit)
        x, y, w, h = box
        width = w * BOX_CROP_WIDTH_SCALE
        height = width * INPUT_HEIGHT / INPUT_WIDTH
        left = x + w / 2 - width / 2
        top = y + h / 2 + h * BOX_CROP_CENTRE_SHIFT - height / 2
        k = INPUT_WIDTH / width
        return compose(invert(self.to_student), np.array([[k, 0, -left * k], [0, k, -top * k]]))

    def geometry(self, image: torch.Tensor, face: np.ndarray, augs: list[dict | None]) -> tuple[torch.Tensor, torch.Tensor]:
        """The warps alone: student crops [V,62,47] and teacher chips [V,150,150], float 0-1."""
        maps = [compose(self.unit_map(a), face) for a in augs]
        student = warp(image, [compose(self.to_student, m) for m in maps], INPUT_WIDTH, INPUT_HEIGHT)
        teacher = warp(image, [compose(self.to_teacher, m) for m in maps], CHIP, CHIP)
        return student, teacher

    def finish(self, student: torch.Tensor, teacher: torch.Tensor, augs: list[dict | None],
               gen: torch.Generator) -> tuple[np.ndarray, np.ndarray]:
        """The photometric part of each augmentation on both renderings, then 8-bit quantisation."""
        ratio = (CHIP / (1 + 2 * TEACHER_PADDING)) / self.student_px
        for v, a in enumerate(augs):
            if a is None:
                continue
            s, t = student[v], teacher[v]
            s, t = s.clamp(1e-4, 1) ** a["gamma"], t.clamp(1e-4, 1) ** a["gamma"]
            mean = s.mean()
            s = (s - mean) * a["contrast"] + mean + a["brightness"]
            t = (t - mean) * a["contrast"] + mean + a["brightness"]
            if a["blur"] > 0:
                s = gaussian_blur(s.unsqueeze(0), a["blur"])[0]
                t = gaussian_blur(t.unsqueeze(0), a["blur"] * ratio)[0]
            # sensor noise: the student's frame (drawn on the CPU, so every device sees the same draws)
            s = s + torch.randn(s.shape, generator=gen).to(s.device) * a["noise"]
            student[v], teacher[v] = s, t
        q = lambda x: (x.clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()  # noqa: E731
        return q(student), q(teacher)

    def render(self, image: torch.Tensor, face: np.ndarray, augs: list[dict | None],
               gen: torch.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Student crops [V,62,47] and teacher chips [V,150,150] (uint8) of one image [H,W] (0-1),
        `face` mapping its pixels onto the unit square (face_map)."""
        return self.finish(*self.geometry(image, face, augs), augs, gen)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m fvtrain.views", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--crops", required=True, help="prepare-crops --align directory (with landmarks.f32)")
    p.add_argument("--images", required=True, help="the LFW-layout images the crops were cut from")
    p.add_argument("--out", required=True)
    p.add_argument("--views", type=int, default=16, help="views per face, the first unaugmented")
    p.add_argument("--mixes", type=int, default=0, metavar="M",
                   help="instead of views: M blends of two random faces (both aligned, one augmentation, "
                        "lambda uniform in --mix-range) with the teacher's embedding of each blend")
    p.add_argument("--mix-range", type=float, nargs=2, default=(0.2, 0.8), metavar=("LO", "HI"))
    p.add_argument("--exclude-pairs", action="append", default=[], metavar="FILE",
                   help="skip the people of this pairs file (repeatable)")
    p.add_argument("--pairs", action="append", default=[], metavar="FILE",
                   help="only the people of this pairs file (repeatable)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=64, help="teacher batch")
    p.add_argument("--device", default="cpu",
                   help="where the warps and the teacher run: cpu, or a PyTorch device such as cuda (the random "
                        "augmentations are drawn on the CPU either way)")
    p.add_argument("--shift", type=float, default=aug.SHIFT_PX, help="max shift, student pixels")
    p.add_argument("--rotate", type=float, default=aug.ROTATE_DEG, help="max rotation, degrees")
    p.add_argument("--scale", type=float, default=aug.SCALE, help="max relative scale change")
    p.add_argument("--blur-prob", type=float, default=aug.BLUR_PROB)
    p.add_argument("--teacher-model", default=None, help="face-api model/ folder (default: node_modules)")
    return p.parse_args(argv)


def load_gray(images_dir: str, name: str, number: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """One LFW image, gray, float 0-1, [H,W], on `device`."""
    path = os.path.join(images_dir, name, f"{name}_{number:04d}.jpg")
    return torch.from_numpy(np.asarray(Image.open(path).convert("L"), dtype=np.float32) / 255.0).to(device)


def augmentation_meta(args) -> dict:
    return {"shift_px": args.shift, "rotate_deg": args.rotate, "scale": args.scale, "blur_prob": args.blur_prob,
            "seed": args.seed}


def write_embedding_cache(directory: str, crops, rows: np.ndarray, emb: np.ndarray, meta: dict) -> None:
    """The packages/teacher cache format (embeddings.f32, index.tsv, meta.json) for `rows`."""
    os.makedirs(directory, exist_ok=True)
    emb[rows].astype("<f4").tofile(os.path.join(directory, "embeddings.f32"))
    with open(os.path.join(directory, "index.tsv"), "w", encoding="utf-8") as fh:
        fh.write("index\tname\timage\tdetected\tfaces\n")
        for i, r in enumerate(rows):
            fh.write(f"{i}\t{crops.names[r]}\t{crops.image_numbers[r]}\t{int(crops.detected[r])}\t1\n")
    with open(os.path.join(directory, "meta.json"), "w", encoding="utf-8") as fh:
        json.dump({**meta, "dim": DIM, "count": int(len(rows))}, fh, indent=2)
        fh.write("\n")


def embed_chips(teacher, chips: np.ndarray) -> np.ndarray:
    """L2-normalised teacher embeddings of gray uint8 chips [N,150,150]."""
    device = next(teacher.parameters()).device
    x = torch.from_numpy(chips.reshape(-1, 1, CHIP, CHIP)).to(device).float().expand(-1, 3, -1, -1)
    with torch.no_grad():
        emb = teacher(x.contiguous(memory_format=torch.channels_last)).cpu().numpy()
    return emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)


def make_mixes(args, crops, rows: np.ndarray, maker: ViewMaker, teacher, landmarks: np.ndarray,
               boxes: np.ndarray, rng: np.random.RandomState, gen: torch.Generator) -> int:
    """Blends of two faces of different people: both cut through the same augmentation (so the
    aligned faces overlay), mixed with one lambda in the student's crop and the teacher's chip
    alike, then the photometric part. Writes crops.npy (M x 62 x 47), teacher.f32 (M x 128),
    sources.npy (M x 2 crop rows), lambda.f32, meta.json."""
    m = args.mixes
    student = np.zeros((m, INPUT_HEIGHT, INPUT_WIDTH), dtype=np.uint8)
    target = np.zeros((m, DIM), dtype=np.float32)
    sources = np.zeros((m, 2), dtype=np.int64)
    lambdas = rng.uniform(args.mix_range[0], args.mix_range[1], m).astype(np.float32)
    cache: dict[int, torch.Tensor] = {}

    def image(r: int) -> torch.Tensor:
        if r not in cache:
            if len(cache) > 4096:
                cache.clear()
            cache[r] = load_gray(args.images, crops.names[r], crops.image_numbers[r], args.device)
        return cache[r]

    started = time.time()
    for start in range(0, m, args.batch):
        stop = min(m, start + args.batch)
        chips = np.zeros((stop - start, CHIP, CHIP), dtype=np.uint8)
        for k in range(start, stop):
            a, b = rows[rng.randint(len(rows))], rows[rng.randint(len(rows))]
            while crops.names[b] == crops.names[a]:
                b = rows[rng.randint(len(rows))]
            aug = [maker.augmentation()]
            sa, ta = maker.geometry(image(a), maker.face_map(landmarks[a], boxes[a]), aug)
            sb, tb = maker.geometry(image(b), maker.face_map(landmarks[b], boxes[b]), aug)
            lam = float(lambdas[k])
            s, t = maker.finish(lam * sa + (1 - lam) * sb, lam * ta + (1 - lam) * tb, aug, gen)
            student[k], chips[k - start], sources[k] = s[0], t[0], (a, b)
        target[start:stop] = embed_chips(teacher, chips)
        if stop // 4096 != start // 4096 or stop == m:
            rate = stop / (time.time() - started)
            print(f"mixes {stop}/{m}, {rate:.0f}/s, ~{(m - stop) / rate / 60:.1f} min left", file=sys.stderr)
    np.save(os.path.join(args.out, "crops.npy"), student)
    target.astype("<f4").tofile(os.path.join(args.out, "teacher.f32"))
    np.save(os.path.join(args.out, "sources.npy"), sources)
    lambdas.astype("<f4").tofile(os.path.join(args.out, "lambda.f32"))
    seconds = time.time() - started
    meta = {
        "mixes": m, "dim": DIM, "crops_count": len(crops),
        "layout": "crops.npy uint8 mixes x 62 x 47; teacher.f32 float32 mixes x dim (L2-normalised); "
                  "sources.npy int64 mixes x 2 (crop rows blended, lambda on the first); lambda.f32",
        "crops": os.path.abspath(args.crops),
        "mix_range": list(args.mix_range),
        "augmentation": augmentation_meta(args),
        "exclude_pairs": [os.path.basename(f) for f in args.exclude_pairs],
        "seconds": round(seconds, 1),
    }
    with open(os.path.join(args.out, "meta.json"), "w", encoding="utf-8") as fh:
        json.dump(meta, fh, indent=2)
        fh.write("\n")
    print(f"wrote {m} mixes to {args.out} in {seconds / 60:.1f} min", file=sys.stderr)
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.views < 1 or args.mixes < 0:
        print("--views must be at least 1 and --mixes at least 0", file=sys.stderr)
        return 2
    keep_freed_memory()
    torch.set_num_threads(args.threads)
    try:
        device = resolve_device(args.device)
    except ValueError as err:
        print(err, file=sys.stderr)
        return 2
    if device.type == "cuda":
        # The teacher is the reference: full fp32, no TF32 shortcuts in its convolutions.
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    crops = load_crops(args.crops)
    template = crops.meta.get("crop", {}).get("template")
    lm_path = os.path.join(args.crops, "landmarks.f32")
    if template is None or not os.path.exists(lm_path):
        print(f"{args.crops} is not an aligned crop directory with landmarks.f32 (prepare-crops --align)",
              file=sys.stderr)
        return 2
    landmarks = np.fromfile(lm_path, dtype="<f4")
    if landmarks.size != len(crops) * 136:
        print(f"{lm_path} has {landmarks.size} values, expected {len(crops) * 136}", file=sys.stderr)
        return 2
    landmarks = landmarks.reshape(len(crops), 136)
    boxes = np.loadtxt(os.path.join(args.crops, "boxes.tsv"), delimiter="\t", skiprows=1, ndmin=2)
    if boxes.shape != (len(crops), 5) or not np.array_equal(boxes[:, 0], np.arange(len(crops))):
        print(f"{args.crops}/boxes.tsv does not list one box per crop", file=sys.stderr)
        return 2
    boxes = boxes[:, 1:]
    excluded: set[str] = set().union(*(parse_pairs_people(f) for f in args.exclude_pairs)) if args.exclude_pairs else set()
    wanted = set().union(*(parse_pairs_people(f) for f in args.pairs)) if args.pairs else None
    keep = np.array([crops.names[i] not in excluded and (wanted is None or crops.names[i] in wanted)
                     for i in range(len(crops))])
    rows = np.flatnonzero(keep)
    n, v_count = len(crops), args.views
    print(f"{len(rows)} of {n} faces, " + (f"{args.mixes} blends" if args.mixes else f"{v_count} views each") + " "
          f"({int((~np.isfinite(landmarks).all(axis=1)).sum())} box crops without trusted landmarks)", file=sys.stderr)

    teacher = load_face_api_teacher(args.teacher_model).to(device, memory_format=torch.channels_last)
    rng = np.random.RandomState(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    maker = ViewMaker(template, args.shift, args.scale, args.rotate, args.blur_prob, rng)
    os.makedirs(args.out, exist_ok=True)
    if args.mixes:
        return make_mixes(args, crops, rows, maker, teacher, landmarks, boxes, rng, gen)
    student = np.lib.format.open_memmap(os.path.join(args.out, "crops.npy"), mode="w+", dtype=np.uint8,
                                        shape=(v_count, n, INPUT_HEIGHT, INPUT_WIDTH))
    target = np.zeros((v_count, n, DIM), dtype=np.float32)
    started = time.time()
    view0_diff: list[float] = []
    for start in range(0, len(rows), args.batch):
        batch = rows[start:start + args.batch]
        chips = np.zeros((len(batch), v_count, CHIP, CHIP), dtype=np.uint8)
        for j, r in enumerate(batch):
            image = load_gray(args.images, crops.names[r], crops.image_numbers[r], device)
            augs = [None] + [maker.augmentation() for _ in range(v_count - 1)]
            s, t = maker.render(image, maker.face_map(landmarks[r], boxes[r]), augs, gen)
            student[:, r] = s
            chips[j] = t
            view0_diff.append(float(np.abs(s[0].astype(np.int16) - crops.images[r]).mean()))
        emb = embed_chips(teacher, chips).reshape(len(batch), v_count, DIM)
        target[:, batch] = emb.transpose(1, 0, 2)
        done = start + len(batch)
        if done // 1024 != start // 1024 or done == len(rows):
            rate = done * v_count / (time.time() - started)
            print(f"views {done}/{len(rows)} faces, {rate:.0f} views/s, "
                  f"~{(len(rows) - done) * v_count / rate / 60:.1f} min left", file=sys.stderr)
    student.flush()
    target.astype("<f4").tofile(os.path.join(args.out, "teacher.f32"))
    keep.astype(np.uint8).tofile(os.path.join(args.out, "rows.u8"))
    seconds = time.time() - started
    meta = {
        "views": v_count, "count": n, "faces": int(len(rows)), "dim": DIM,
        "layout": "crops.npy uint8 views x count x 62 x 47; teacher.f32 float32 views x count x dim "
                  "(L2-normalised); rows.u8 count (1 = has views); view 0 is unaugmented",
        "crops": os.path.abspath(args.crops),
        "teacher": "face-api faceRecognitionNet (dlib ResNet, 128-d) in PyTorch, on dlib chips "
                   f"({CHIP} px, padding {TEACHER_PADDING}) fitted with the crops' landmarks {template['points']}",
        "augmentation": augmentation_meta(args),
        "exclude_pairs": [os.path.basename(f) for f in args.exclude_pairs],
        "pairs": [os.path.basename(f) for f in args.pairs],
        "view0_mean_abs_diff_to_crops": float(np.mean(view0_diff)) if view0_diff else None,
        "view0_max_mean_abs_diff_to_crops": float(np.max(view0_diff)) if view0_diff else None,
        "seconds": round(seconds, 1),
    }
    with open(os.path.join(args.out, "meta.json"), "w", encoding="utf-8") as fh:
        json.dump(meta, fh, indent=2)
        fh.write("\n")
    write_embedding_cache(os.path.join(args.out, "teacher0"), crops, rows, target[0],
                          {"model": meta["teacher"], "source": "fvtrain.views view 0"})
    print(f"wrote {len(rows)} faces x {v_count} views to {args.out} in {seconds / 60:.1f} min; "
          f"view 0 differs from the prepared crops by {meta['view0_mean_abs_diff_to_crops']:.2f} grey levels "
          f"on average", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
