"""Training loop: PK batches, augmentation, contrastive loss, cosine LR, per-epoch
validation and best-epoch selection."""
from __future__ import annotations

import copy
import math
import time

import numpy as np
import torch

from .augment import ROTATE_DEG, SCALE, SHIFT_PX, augment
from .data import Crops, Mixes, PKSampler, Split, Views, make_val_pairs
from .losses import contrastive_loss, distillation_loss, proxy_distillation_loss
from .metrics import best_threshold_accuracy, roc_auc
from .model import SiameseNet


def to_input(images_u8: np.ndarray) -> torch.Tensor:
    """The serving normalisation, exactly: byte / 255, shape [N,1,62,47]."""
    return torch.from_numpy(images_u8).float().unsqueeze(1) / 255.0


@torch.no_grad()
def embed(model: SiameseNet, images_u8: np.ndarray, batch: int = 512) -> np.ndarray:
    """Embeddings on the device the model lives on, returned on the CPU."""
    model.eval()
    device = next(model.parameters()).device
    out = [model(to_input(images_u8[i:i + batch]).to(device)).cpu().numpy() for i in range(0, len(images_u8), batch)]
    return np.concatenate(out) if out else np.zeros((0, model.embedding_dim), np.float32)


def evaluate(model: SiameseNet, crops: Crops, pairs: np.ndarray, same: np.ndarray) -> dict:
    rows = np.unique(pairs)
    emb = embed(model, crops.images[rows])
    pos = {r: i for i, r in enumerate(rows)}
    a = emb[[pos[r] for r in pairs[:, 0]]]
    b = emb[[pos[r] for r in pairs[:, 1]]]
    dist = np.linalg.norm(a - b, axis=1)
    acc, thr = best_threshold_accuracy(dist, same)
    return {"val_acc": acc, "val_auc": roc_auc(dist, same), "val_threshold": thr,
            "val_pos_dist": float(dist[same == 1].mean()), "val_neg_dist": float(dist[same == 0].mean())}


def teacher_basis(targets: np.ndarray, dim: int) -> np.ndarray:
    """The `dim` principal directions (uncentered: the embeddings are compared by angle) of the
    teacher's embeddings, as orthonormal rows [dim, D]. With it as the direct term's fixed projection,
    1 - cos(basis^T e, t) = 1 - <e, basis t> for a unit student embedding e, whose best answer is
    the teacher's embedding reduced to those directions: the space the student serves becomes the
    teacher's, instead of a learned map's preimage of it."""
    if targets.shape[0] < dim or targets.shape[1] < dim:
        raise ValueError(f"a {dim}-d basis needs at least {dim} teacher embeddings of at least {dim} dimensions")
    _, _, vt = np.linalg.svd(targets.astype(np.float64), full_matrices=False)
    return vt[:dim].astype(np.float32)


def person_proxies(split: Split, targets: np.ndarray, has: np.ndarray) -> np.ndarray:
    """One L2-normalised teacher centroid per training person (people with several images, then
    single-image people), from `targets` [N, D] (one teacher embedding per crop row, e.g. the mean
    over its views) on the rows where `has` is set; people without such a row get none."""
    people = [np.asarray(rows, dtype=np.int64) for rows in split.train_people]
    people += [np.array([r], dtype=np.int64) for r in split.single_indices]
    centroids = []
    for rows in people:
        rows = rows[has[rows]]
        if len(rows):
            t = targets[rows] / np.maximum(np.linalg.norm(targets[rows], axis=1, keepdims=True), 1e-12)
            c = t.mean(axis=0)
            centroids.append(c / max(float(np.linalg.norm(c)), 1e-12))
    if len(centroids) < 2:
        raise ValueError("the proxy term needs teacher embeddings of at least 2 training people")
    return np.stack(centroids).astype(np.float32)


def train(model: SiameseNet, crops: Crops, split: Split, cfg: dict, log=print,
          teacher: tuple[np.ndarray, np.ndarray] | None = None, views: Views | None = None,
          mixes: Mixes | None = None, device: str | torch.device = "cpu") -> dict:
    """`device`: where the model trains (the batches are drawn and augmented on the CPU, then moved
    there); the best weights come back on the CPU for export.
    `teacher`: (L2-normalised teacher embeddings per crop row, mask of rows that have one);
    with it, cfg's distill_relational / distill_direct weights add the distillation terms.
    `views` (rows restricted to training rows): each step, a row with views is replaced by one of
    its augmented views, drawn at random, and distils towards the teacher's embedding of that view;
    rows without views are augmented here and have no teacher target.
    `mixes`: cfg["mix_per_batch"] blends of two training faces join each batch for the distillation
    terms only (they have no identity for the contrastive loss).
    cfg["distill_proxies"] > 0 adds `proxy_distillation_loss` against every training person's teacher
    centroid at cfg["proxy_scale"], on the rows the direct term sees (blends included)."""
    seed = cfg["seed"]
    device = torch.device(device)
    model.to(device)
    if views is not None:
        if teacher is not None:
            raise ValueError("give a teacher cache or views, not both")
        teacher = (views.target[0], views.rows)  # shapes for the terms below; targets come per view
    w_con = cfg.get("contrastive_weight", 1.0)
    w_rel = cfg.get("distill_relational", 0.0) if teacher is not None else 0.0
    w_dir = cfg.get("distill_direct", 0.0) if teacher is not None else 0.0
    w_proxy = cfg.get("distill_proxies", 0.0) if teacher is not None else 0.0
    proj = None
    if teacher is not None and (w_dir > 0 or w_proxy > 0):
        # Training-only head: the student's embedding, linearly mapped to the teacher's space.
        proj = torch.nn.Linear(model.embedding_dim, teacher[0].shape[1], bias=False)
        if cfg.get("distill_basis", "learned") == "pca":
            proj.weight.data = torch.from_numpy(teacher_basis(teacher[0][teacher[1]], model.embedding_dim).T.copy())
            proj.weight.requires_grad_(False)
        proj.to(device)
    proxies = None
    if w_proxy > 0:
        per_row = views.target.mean(axis=0) if views is not None else teacher[0]
        proxies = torch.from_numpy(person_proxies(split, per_row, teacher[1])).to(device)
        log(f"proxy term: {proxies.shape[0]} training people's teacher centroids, scale {cfg['proxy_scale']:g}")
    t_target = torch.from_numpy(teacher[0]).to(device) if teacher is not None and views is None else None
    t_mask = torch.from_numpy(teacher[1]).to(device) if teacher is not None and views is None else None
    gen = torch.Generator().manual_seed(seed + 3)
    view_rng = np.random.RandomState(seed + 5)
    mix_rows = np.zeros(0, dtype=np.int64)
    if mixes is not None:
        if teacher is None:
            raise ValueError("blends need a teacher (a cache or views) for the other rows")
        mix_rows = mixes.within(split.train_mask(len(crops)))
        if len(mix_rows) == 0:
            raise ValueError("no blend has both faces among the training rows")
    n_mix = cfg.get("mix_per_batch", 0) if len(mix_rows) else 0
    sampler = PKSampler(split, cfg["batch_people"], cfg["per_person"], cfg["singles"], seed)
    steps_per_epoch = sampler.batches_per_epoch()
    total_steps = steps_per_epoch * cfg["epochs"]
    warmup = min(steps_per_epoch, max(1, total_steps // 10))
    val_pairs, val_same = make_val_pairs(split, seed)

    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (decay if p.ndim > 1 else no_decay).append(p)
    if proj is not None and proj.weight.requires_grad:
        no_decay += list(proj.parameters())
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg["weight_decay"]},
                             {"params": no_decay, "weight_decay": 0.0}], lr=cfg["lr"],
                            **({"fused": True} if device.type == "cuda" else {}))  # one kernel per step on a GPU

    def lr_at(step: int) -> float:
        if step < warmup:
            return cfg["lr"] * (step + 1) / warmup
        t = (step - warmup) / max(1, total_steps - warmup)
        return cfg["lr"] * (cfg["final_lr_fraction"] + (1 - cfg["final_lr_fraction"]) * 0.5 * (1 + math.cos(math.pi * t)))

    def draw_inputs(rows: np.ndarray, gen: torch.Generator, view_rng: np.random.RandomState):
        """One batch's input as training sees it: views where a row has them, augmentation where it
        has not, blends appended; with the teacher targets of the views (None without views)."""
        x = to_input(crops.images[rows])
        has = views.rows[rows] if views is not None else np.zeros(len(rows), dtype=bool)
        plain = torch.from_numpy(~has)
        # Rows with views arrive augmented (a view); only the others are augmented here.
        if bool(plain.any()):
            x[plain] = augment(x[plain], gen, shift_px=cfg.get("aug_shift", SHIFT_PX),
                               scale=cfg.get("aug_scale", SCALE), rotate_deg=cfg.get("aug_rotate", ROTATE_DEG))
        batch_target = batch_mask = pick_mix = None
        if views is not None:
            pick = view_rng.randint(0, views.crops.shape[0], len(rows))
            x[torch.from_numpy(has)] = to_input(views.crops[pick[has], rows[has]])
            batch_target = torch.from_numpy(views.target[pick, rows])
            batch_mask = torch.from_numpy(has)
        if n_mix:
            pick_mix = mix_rows[view_rng.randint(0, len(mix_rows), n_mix)]
            x = torch.cat([x, to_input(mixes.crops[pick_mix])])
        return x, batch_target, batch_mask, pick_mix

    # Exponential moving average of the weights (and BatchNorm statistics): validated, kept and
    # exported instead of the raw weights when cfg["ema"] > 0.
    ema_decay = cfg.get("ema", 0.0)
    ema = copy.deepcopy(model) if ema_decay > 0 else None
    # (average, live) tensor pairs, paired once: both state dicts hold the tensors updated in place.
    ema_pairs = list(zip(ema.state_dict().values(), model.state_dict().values())) if ema is not None else []

    # Stochastic weight averaging: for each start epoch E in cfg["swa_from"], the mean of the weights
    # at the end of epochs E..last (BatchNorm statistics re-estimated afterwards, see below).
    swa_from = sorted(set(cfg.get("swa_from") or []))
    if any(e < 1 or e > cfg["epochs"] for e in swa_from):
        raise ValueError(f"swa_from epochs must lie in 1..{cfg['epochs']}")
    keep = cfg.get("keep", "best")
    known = ["best", "last"] + [f"swa{e}" for e in swa_from]
    if keep not in known:  # refused before training, not after it
        raise ValueError(f"keep={keep!r}: choose one of {', '.join(known)}")
    swa_sums: dict[int, dict[str, torch.Tensor]] = {}

    history: list[dict] = []
    best = {"epoch": 0, "score": -1.0, "state": copy.deepcopy(model.state_dict())}
    t0 = time.time()
    step = 0
    log(f"steps/epoch {steps_per_epoch}, batch {cfg['batch_people']}x{cfg['per_person']}+{cfg['singles']}, "
        f"val pairs {len(val_pairs)} ({int(val_same.sum())} matched)")
    for epoch in range(1, cfg["epochs"] + 1):
        model.train()
        te = time.time()
        losses, pos_d, neg_d, rel_l, dir_l, proxy_l = [], [], [], [], [], []
        for rows, labels in sampler.epoch():
            lr = lr_at(step)
            for g in opt.param_groups:
                g["lr"] = lr
            x, batch_target, batch_mask, pick_mix = draw_inputs(rows, gen, view_rng)
            emb_all = model(x.to(device, non_blocking=True))
            emb = emb_all[:len(rows)]
            loss, stats = contrastive_loss(emb, torch.from_numpy(labels).to(device), cfg["margin"],
                                           cfg["hard_negatives"])
            loss = w_con * loss
            if w_rel > 0 or w_dir > 0 or w_proxy > 0:
                if batch_target is None:
                    r = torch.from_numpy(rows).to(device)
                    tgt, msk = t_target[r], t_mask[r]
                else:
                    tgt, msk = batch_target.to(device), batch_mask.to(device)
                if n_mix:
                    tgt = torch.cat([tgt, torch.from_numpy(mixes.target[pick_mix]).to(device)])
                    msk = torch.cat([msk, torch.ones(n_mix, dtype=torch.bool, device=device)])
                projected = proj(emb_all) if proj is not None else None
                rel, direct = distillation_loss(emb_all, projected, tgt, msk)
                loss = loss + w_rel * rel + w_dir * direct
                if proxies is not None:
                    by_proxy = proxy_distillation_loss(projected, tgt, proxies, cfg["proxy_scale"], msk)
                    loss = loss + w_proxy * by_proxy
                    proxy_l.append(float(by_proxy))
                rel_l.append(float(rel))
                dir_l.append(float(direct))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if ema is not None:
                with torch.no_grad():
                    for e, p in ema_pairs:
                        if e.dtype.is_floating_point:
                            e.mul_(ema_decay).add_(p, alpha=1 - ema_decay)
                        else:
                            e.copy_(p)
            losses.append(float(loss))
            pos_d.append(stats["pos_d"])
            neg_d.append(stats["neg_d"])
            step += 1
        kept = ema if ema is not None else model
        metrics = evaluate(kept, crops, val_pairs, val_same)
        score = metrics["val_auc"] + metrics["val_acc"]
        row = {"epoch": epoch, "loss": float(np.mean(losses)), "lr": lr,
               "train_pos_dist": float(np.mean(pos_d)), "train_neg_dist": float(np.mean(neg_d)),
               **({"distill_relational": float(np.mean(rel_l)), "distill_direct": float(np.mean(dir_l))}
                  if rel_l else {}),
               **({"distill_proxies": float(np.mean(proxy_l))} if proxy_l else {}),
               **metrics, "epoch_seconds": time.time() - te, "elapsed_seconds": time.time() - t0}
        history.append(row)
        if score > best["score"]:
            best = {"epoch": epoch, "score": score, "state": copy.deepcopy(kept.state_dict())}
        if swa_from and epoch >= swa_from[0]:
            live = {k: v.detach().to("cpu", torch.float64) for k, v in kept.state_dict().items()
                    if v.dtype.is_floating_point}
            for start in (e for e in swa_from if epoch >= e):
                acc = swa_sums.setdefault(start, {k: torch.zeros_like(v) for k, v in live.items()})
                for k, v in live.items():
                    acc[k] += v
        log(f"epoch {epoch:3d}/{cfg['epochs']}  loss {row['loss']:.4f}  lr {lr:.2e}  "
            f"val acc {metrics['val_acc'] * 100:.2f}%  auc {metrics['val_auc']:.4f}  "
            f"d+ {metrics['val_pos_dist']:.3f} d- {metrics['val_neg_dist']:.3f}  "
            + (f"rel {row['distill_relational']:.4f} dir {row['distill_direct']:.4f}  " if rel_l else "")
            + (f"proxy {row['distill_proxies']:.4f}  " if proxy_l else "")
            + f"{row['epoch_seconds']:.1f}s (total {row['elapsed_seconds'] / 60:.1f} min)"
            + ("  *" if best["epoch"] == epoch else ""))
    candidates = {"best": {"epoch": best["epoch"], "state": best["state"], **history[best["epoch"] - 1]},
                  "last": {"epoch": cfg["epochs"], "state": copy.deepcopy(kept.state_dict()), **history[-1]}}
    for start in swa_from:
        averaged = copy.deepcopy(kept)
        n = cfg["epochs"] - start + 1
        state = averaged.state_dict()
        for k, total in swa_sums[start].items():
            state[k].copy_((total / n).to(state[k].dtype))
        bn_batches = recompute_batchnorm(averaged, sampler, draw_inputs, seed, device)
        metrics = evaluate(averaged, crops, val_pairs, val_same)
        candidates[f"swa{start}"] = {"epochs": [start, cfg["epochs"]], "state": copy.deepcopy(averaged.state_dict()),
                                     "bn_batches": bn_batches, **metrics}
        log(f"swa from epoch {start} ({n} epochs averaged, BatchNorm re-estimated on {bn_batches} batches): "
            f"val acc {metrics['val_acc'] * 100:.2f}%  auc {metrics['val_auc']:.4f}")
    model.load_state_dict(candidates[keep]["state"])
    model.to("cpu")
    return {"history": history, "best_epoch": best["epoch"], "steps_per_epoch": steps_per_epoch,
            "val_pairs": int(len(val_pairs)), "val_matched_pairs": int(val_same.sum()),
            "train_seconds": time.time() - t0, "kept": keep,
            "candidates": candidates}


@torch.no_grad()
def recompute_batchnorm(model: SiameseNet, sampler: PKSampler, draw_inputs, seed: int,
                        device: torch.device) -> int:
    """Averaged weights need their own BatchNorm statistics (the averaged running statistics belong
    to none of the averaged networks): reset them and take the exact mean over one epoch of
    training batches, drawn as training draws them, with generators of their own."""
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    model.train()
    gen, view_rng = torch.Generator().manual_seed(seed + 11), np.random.RandomState(seed + 13)
    batches = 0
    for rows, _labels in sampler.epoch():
        x = draw_inputs(rows, gen, view_rng)[0]
        model(x.to(device, non_blocking=True))
        batches += 1
    for m, momentum in zip(norms, saved):
        m.momentum = momentum
    model.eval()
    return batches
