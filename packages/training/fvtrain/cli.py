"""Command line: python -m fvtrain --crops DIR --exclude-pairs FILE [--exclude-fold K] --out DIR"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import sys
import time

import numpy as np
import onnx
import torch

from . import __version__
from . import augment as aug
from .data import (concat_views, excluded_people, load_crops, load_mixes, load_teacher, load_views, make_split,
                   parse_pairs_images)
from .export import (INPUT_NAME, OPSET, OUTPUT_NAME, VERIFY_TOLERANCE, WEIGHT_FORMATS, export_onnx,
                     verify_onnx)
from .model import SiameseNet, count_flops, count_params, parse_widths
from .runtime import keep_freed_memory, resolve_device
from .train import train

MAX_ONNX_BYTES = 1024 * 1024
DEFAULT_EPOCHS = 24


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m fvtrain", description=__doc__)
    p.add_argument("--crops", required=True, help="directory with crops.u8, index.tsv, meta.json")
    p.add_argument("--exclude-pairs", action="append", default=[], metavar="FILE",
                   help="LFW pairs file whose people are never trained on (repeatable)")
    p.add_argument("--exclude-fold", type=int, default=None, metavar="K",
                   help="only exclude fold K (0-based) of 10-fold pairs files (files without folds are excluded whole)")
    p.add_argument("--hold-out-images", action="append", default=[], metavar="FILE",
                   help="LFW pairs file whose images (not people) never enter training or validation, e.g. the "
                        "pairs the threshold is chosen on (repeatable)")
    p.add_argument("--out", required=True, help="output directory (model.onnx, training.json)")
    p.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu",
                   help="where the network trains: cpu, or a PyTorch device such as cuda or cuda:1 (batches are "
                        "still drawn and augmented on the CPU; the exported model is the same format)")
    p.add_argument("--widths", default="24,48,96,128",
                   help="conv stage widths: 3x3 convs, each followed by BN and ReLU, each stage by a 2x2 max "
                        "pool; '+' puts several convs in one stage (e.g. 16,32,64+64,96+96)")
    p.add_argument("--head-kernel", type=int, default=3)
    p.add_argument("--batch-people", type=int, default=32, help="P identities per batch")
    p.add_argument("--per-person", type=int, default=4, help="K images per identity")
    p.add_argument("--singles", type=int, default=32, help="single-image people added per batch as negatives")
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--final-lr-fraction", type=float, default=0.01)
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--margin", type=float, default=1.0)
    p.add_argument("--hard-negatives", type=int, default=8, help="closest negatives per anchor in the loss (0 = all)")
    p.add_argument("--ema", type=float, default=0.0, metavar="DECAY",
                   help="validate and keep an exponential moving average of the weights (e.g. 0.998 per step; 0 = off)")
    p.add_argument("--swa-from", default="", metavar="E[,E...]",
                   help="stochastic weight averaging: for each epoch E, also average the weights of epochs E..last "
                        "(BatchNorm statistics re-estimated on one epoch of training batches) as candidate swaE")
    p.add_argument("--keep", default="best", metavar="CANDIDATE",
                   help="which weights become model.onnx: best (best validation epoch), last (the last epoch), or "
                        "swaE (an average from --swa-from)")
    p.add_argument("--export-alternates", action="store_true",
                   help="also write every other candidate as model-<candidate>.onnx, for ablations")
    p.add_argument("--val-fraction", type=float, default=0.08)
    p.add_argument("--embedding-dim", type=int, default=48)
    p.add_argument("--aug-shift", type=float, default=aug.SHIFT_PX, help="augmentation: max shift in pixels")
    p.add_argument("--aug-rotate", type=float, default=aug.ROTATE_DEG, help="augmentation: max rotation in degrees")
    p.add_argument("--aug-scale", type=float, default=aug.SCALE, help="augmentation: max relative scale change")
    p.add_argument("--head", choices=("conv-max", "gdc"), default="conv-max",
                   help="conv-max: v1 head; gdc: global depthwise conv + 1x1 conv (MobileFaceNet)")
    p.add_argument("--weights", choices=WEIGHT_FORMATS, default="fp32",
                   help="how model.onnx stores its weights: fp32, or fp16 (half the file; computes in fp32)")
    p.add_argument("--teacher", action="append", default=[], metavar="DIR",
                   help="teacher embedding cache (packages/teacher embed CLI; repeatable for shards)")
    p.add_argument("--views", action="append", default=[], metavar="DIR",
                   help="consistent teacher views (python -m fvtrain.views): train on augmented views with the "
                        "teacher's embedding of each view, instead of --teacher's one embedding per image "
                        "(repeatable: the sets' views are pooled)")
    p.add_argument("--mixes", metavar="DIR",
                   help="blends of two faces with their teacher embeddings (python -m fvtrain.views --mixes): "
                        "--mix-per-batch of them join each batch's distillation terms")
    p.add_argument("--mix-per-batch", type=int, default=32)
    p.add_argument("--contrastive-weight", type=float, default=1.0)
    p.add_argument("--distill-relational", type=float, default=0.0,
                   help="weight of the squared error between student and teacher pairwise distances")
    p.add_argument("--distill-direct", type=float, default=0.0,
                   help="weight of 1 - cos(linear projection of the student embedding, teacher embedding)")
    p.add_argument("--distill-basis", choices=("learned", "pca"), default="learned",
                   help="the direct term's projection: learned (a training-only linear map), or pca (fixed: the "
                        "teacher's principal directions on the training rows, so the student's own embedding "
                        "space, the one served, is pulled onto the teacher's)")
    p.add_argument("--distill-proxies", type=float, default=0.0,
                   help="weight of KL(teacher || student) between softmaxes over every training person's teacher "
                        "centroid (the student through the direct term's projection)")
    p.add_argument("--proxy-scale", type=float, default=32.0,
                   help="the proxy term's softmax scale (inverse temperature) on cosines")
    return p.parse_args(argv)


def file_digest(path: str) -> tuple[int, str]:
    """(bytes, sha256 hex) of a file."""
    with open(path, "rb") as fh:
        data = fh.read()
    return len(data), hashlib.sha256(data).hexdigest()


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.teacher and args.views:
        raise SystemExit("give --teacher or --views, not both")
    try:
        args.swa_from = [int(e) for e in args.swa_from.split(",") if e.strip()]
    except ValueError:
        raise SystemExit(f"--swa-from takes epochs separated by commas, not {args.swa_from!r}") from None
    if args.distill_proxies < 0 or args.proxy_scale <= 0:
        raise SystemExit("--distill-proxies must be >= 0 and --proxy-scale > 0")
    if args.distill_proxies > 0 and not (args.teacher or args.views):
        raise SystemExit("--distill-proxies needs --teacher or --views: its targets are the teacher's")
    if any(e < 1 or e > args.epochs for e in args.swa_from):
        raise SystemExit(f"--swa-from epochs must lie in 1..{args.epochs}")
    known = ["best", "last"] + [f"swa{e}" for e in args.swa_from]
    if args.keep not in known:
        raise SystemExit(f"--keep {args.keep}: choose one of {', '.join(known)}")
    started = time.time()
    torch.set_num_threads(args.threads)
    try:
        device = resolve_device(args.device)
    except ValueError as err:
        raise SystemExit(str(err)) from None
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    malloc_tuned = keep_freed_memory()
    seed_everything(args.seed)
    log = lambda msg: print(msg, flush=True)  # noqa: E731

    try:
        excluded, exclusions = excluded_people(args.exclude_pairs, args.exclude_fold)
    except ValueError as err:
        raise SystemExit(str(err)) from None

    crops = load_crops(args.crops)
    held_out = frozenset().union(*(parse_pairs_images(path) for path in args.hold_out_images))
    split = make_split(crops, excluded, args.val_fraction, args.seed, held_out)
    train_rows, val_rows = split.train_indices(), split.val_indices()
    log(f"crops: {len(crops)} images of {len(set(crops.names))} people from {args.crops}")
    log(f"excluded: {len(excluded)} people from {len(exclusions)} pairs file(s) "
        f"({split.excluded_people_in_crops} present in crops)")
    if held_out:
        log(f"held out: {len(held_out)} images of {len(args.hold_out_images)} pairs file(s)")
    log(f"train: {len(split.train_people)} people with >=2 images + {len(split.single_indices)} single-image "
        f"people = {len(train_rows)} images; validation: {len(split.val_people)} people, {len(val_rows)} images")

    try:
        stages = parse_widths(args.widths)
    except ValueError as err:
        raise SystemExit(str(err)) from None
    model = SiameseNet(stages, args.head_kernel, args.embedding_dim, args.head)
    params = count_params(model)
    flops = count_flops(model)
    log(f"model: {model.describe()}")
    log(f"params {params:,} ({params * 4 / 1024:.0f} KiB fp32), {flops['macs'] / 1e6:.1f} M MACs, "
        f"{flops['flops'] / 1e6:.1f} MFLOPs per face")

    cfg = {k: getattr(args, k) for k in ("epochs", "seed", "batch_people", "per_person", "singles", "lr",
                                         "final_lr_fraction", "weight_decay", "margin", "hard_negatives",
                                         "aug_shift", "aug_rotate", "aug_scale",
                                         "contrastive_weight", "distill_relational", "distill_direct", "ema",
                                         "mix_per_batch", "distill_basis", "swa_from", "keep",
                                         "distill_proxies", "proxy_scale")}
    teacher = None
    teacher_report = None
    train_mask = split.train_mask(len(crops))
    if args.teacher:
        target, mask, teacher_meta = load_teacher(args.teacher, crops)
        # Only training rows keep their teacher targets (validation and excluded people never do).
        mask &= train_mask
        teacher = (target, mask)
        teacher_report = {"dirs": [os.path.abspath(d) for d in args.teacher], "meta": teacher_meta,
                          "train_rows_with_teacher": int(mask.sum()), "train_rows": int(len(train_rows))}
        log(f"teacher: {mask.sum()} of {len(train_rows)} training images have a teacher embedding "
            f"(dim {target.shape[1]})")
    views = None
    if args.views:
        views = concat_views([load_views(d, crops) for d in args.views])
        views.rows &= train_mask
        teacher_report = {"views": [os.path.abspath(d) for d in args.views], "meta": views.meta,
                          "train_rows_with_teacher": int(views.rows.sum()), "train_rows": int(len(train_rows))}
        log(f"views: {views.rows.sum()} of {len(train_rows)} training images have {views.crops.shape[0]} "
            f"teacher views each")
    mixes = None
    if args.mixes:
        if not (args.teacher or args.views):
            raise SystemExit("--mixes needs --teacher or --views for the unblended faces")
        mixes = load_mixes(args.mixes, crops)
        usable = len(mixes.within(train_mask))
        teacher_report = {**(teacher_report or {}), "mixes": os.path.abspath(args.mixes), "mixes_meta": mixes.meta,
                          "mixes_of_training_faces": usable}
        log(f"mixes: {usable} of {len(mixes.crops)} blends have both faces in training; "
            f"{args.mix_per_batch} per batch")
    device_desc = str(device) + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else "")
    if device.type != "cpu":
        log(f"device: {device_desc}")
    result = train(model, crops, split, cfg, log, teacher, views, mixes, device)
    best = result["history"][result["best_epoch"] - 1]
    log(f"best epoch {result['best_epoch']}: val acc {best['val_acc'] * 100:.2f}%, auc {best['val_auc']:.4f}")
    kept = result["candidates"][args.keep]
    if args.keep != "best":
        log(f"keeping {args.keep}: val acc {kept['val_acc'] * 100:.2f}%, auc {kept['val_auc']:.4f}")

    os.makedirs(args.out, exist_ok=True)
    # The trained weights themselves, before any export: a machine whose exporter fails (or a later
    # export format) can still turn them into model.onnx.
    torch.save({"state_dict": model.state_dict(), "widths": args.widths, "head_kernel": args.head_kernel,
                "embedding_dim": args.embedding_dim, "head": args.head, "weights": args.weights},
               os.path.join(args.out, "model.pt"))
    rng = np.random.RandomState(args.seed + 4)
    sample_rows = rng.choice(len(val_rows), min(16, len(val_rows)), replace=False)

    def export_checked(net: SiameseNet, path: str) -> tuple[dict, int, str]:
        """Export, check the graph against torch on validation crops; (check, bytes, sha256)."""
        export_onnx(net, path, args.weights)
        checked = verify_onnx(net, path, crops.images[val_rows[sample_rows]], tolerance=VERIFY_TOLERANCE[args.weights])
        return (checked, *file_digest(path))

    onnx_path = os.path.join(args.out, "model.onnx")
    check, size, sha = export_checked(model, onnx_path)
    log(f"wrote {onnx_path} ({size / 1024:.0f} KiB, ops {','.join(check['ops'])}, "
        f"max |onnx - torch| {check['max_abs_diff_vs_torch']:.2e})")
    if size > MAX_ONNX_BYTES:
        log(f"WARNING: model.onnx is larger than {MAX_ONNX_BYTES} bytes")

    candidates = {}
    for name, cand in result["candidates"].items():
        entry = {k: v for k, v in cand.items() if k != "state"}
        if args.export_alternates and name != args.keep:
            alt = SiameseNet(stages, args.head_kernel, args.embedding_dim, args.head)
            alt.load_state_dict(cand["state"])
            alt_path = os.path.join(args.out, f"model-{name}.onnx")
            alt_check, alt_size, alt_sha = export_checked(alt, alt_path)
            entry["onnx"] = {"file": os.path.basename(alt_path), "bytes": alt_size, "sha256": alt_sha,
                             "max_abs_diff_vs_torch": alt_check["max_abs_diff_vs_torch"]}
            log(f"wrote {alt_path} ({name}: val acc {cand['val_acc'] * 100:.2f}%, auc {cand['val_auc']:.4f})")
        elif name == args.keep:
            entry["onnx"] = {"file": "model.onnx", "bytes": size, "sha256": sha}
        candidates[name] = entry

    report = {
        "tool": f"fvtrain {__version__}",
        "command": " ".join([sys.executable, "-m", "fvtrain"] + (sys.argv[1:] if argv is None else list(argv))),
        "cwd": os.getcwd(),
        "args": vars(args),
        "seed": args.seed,
        "epochs": args.epochs,
        "crops": {"dir": os.path.abspath(args.crops), "meta": crops.meta, "images": len(crops),
                  "people": len(set(crops.names)), "detected": int(crops.detected.sum())},
        "exclusions": exclusions,
        "excluded_people": len(excluded),
        "held_out_images": {"files": [os.path.abspath(f) for f in args.hold_out_images], "images": len(held_out)},
        "excluded_people_in_crops": split.excluded_people_in_crops,
        "train": {"people_multi_image": len(split.train_people),
                  "people_single_image": int(len(split.single_indices)),
                  "images": int(len(train_rows))},
        "validation": {"people": len(split.val_people), "images": int(len(val_rows)),
                       "pairs": result["val_pairs"], "matched_pairs": result["val_matched_pairs"]},
        "hyperparameters": cfg,
        "augmentation": f"hflip, affine (scale +-{args.aug_scale * 100:g}%, rotate +-{args.aug_rotate:g} deg, "
                        f"shift +-{args.aug_shift:g} px), gamma, contrast 0.7-1.3, "
                        "brightness +-0.12, gaussian blur p=0.3 sigma 0.4-1.1, noise sigma<=0.02, 8-bit quantise",
        "teacher": teacher_report,
        "loss": (f"{args.contrastive_weight} x " if args.contrastive_weight != 1 else "") + f"contrastive (Hadsell 2006) on euclidean distance of L2-normalised embeddings; margin {args.margin}; "
                f"all positive pairs, {args.hard_negatives or 'all'} hardest negatives per anchor"
                + (f"; + {args.distill_relational} x relational distillation (squared error of pairwise "
                   f"distances vs the L2-normalised teacher) + {args.distill_direct} x (1 - cos(linear "
                   f"projection of the embedding ({args.distill_basis}), teacher embedding))" if args.teacher or args.views else "")
                + (f" + {args.distill_proxies} x KL(teacher || student) of softmaxes at scale {args.proxy_scale:g} "
                   "over every training person's teacher centroid" if args.distill_proxies else ""),
        "history": result["history"],
        "best_epoch": result["best_epoch"],
        "best": best,
        "kept": args.keep,
        "candidates": candidates,
        "model": {
            "architecture": model.describe(),
            "input": {"name": INPUT_NAME, "shape": ["N", 1, 62, 47], "dtype": "float32",
                      "normalisation": "x = byte / 255 (grayscale)"},
            "output": {"name": OUTPUT_NAME, "shape": ["N", model.embedding_dim], "l2_normalised": True},
            "params": params, "macs": flops["macs"], "flops": flops["flops"],
            "weights": args.weights, "onnx_bytes": size, "onnx_sha256": sha, "opset": OPSET,
            "onnx_check": check,
        },
        "versions": {"torch": torch.__version__, "onnx": onnx.__version__, "numpy": np.__version__,
                     "python": platform.python_version()},
        "threads": args.threads,
        "device": device_desc,
        "malloc_keeps_freed_memory": malloc_tuned,
        "duration_seconds": time.time() - started,
    }
    with open(os.path.join(args.out, "training.json"), "w", encoding="utf-8") as fh:
        json.dump(report, fh, indent=2)
        fh.write("\n")
    log(f"wrote {os.path.join(args.out, 'training.json')} ({report['duration_seconds'] / 60:.1f} min)")
    return 0
