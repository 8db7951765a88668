"""Contrastive loss (Hadsell, Chopra & LeCun 2006) over all pairs of a PK batch with
hard-negative emphasis."""
from __future__ import annotations

import torch


def unit_rows(x: torch.Tensor) -> torch.Tensor:
    """Each row scaled to unit length (a row of zeros stays finite)."""
    return x / torch.sqrt((x * x).sum(dim=1, keepdim=True) + 1e-8)


def pairwise_distance(emb: torch.Tensor) -> torch.Tensor:
    """Euclidean distances between L2-normalised embeddings: sqrt(2 - 2 cos)."""
    cos = emb @ emb.t()
    return torch.sqrt((2 - 2 * cos).clamp_min(1e-8))


def contrastive_loss(emb: torch.Tensor, labels: torch.Tensor, margin: float = 1.0,
                     hard_negatives: int = 8) -> tuple[torch.Tensor, dict]:
    """Positive pairs: d^2 (all of them). Negative pairs: max(0, m - d)^2, averaged per
    anchor over its `hard_negatives` closest negatives (0 = all negatives)."""
    n = emb.shape[0]
    d = pairwise_distance(emb)
    same = labels.view(-1, 1) == labels.view(1, -1)
    eye = torch.eye(n, dtype=torch.bool, device=emb.device)
    pos = same & ~eye
    neg = ~same
    pos_loss = (d[pos] ** 2).mean() if pos.any() else d.sum() * 0

    anchors = pos.any(dim=1)  # anchors with a positive (singles only act as negatives)
    hinge = (margin - d).clamp_min(0) ** 2
    if hard_negatives and hard_negatives < n:
        dn = d.masked_fill(~neg, float("inf"))[anchors]
        k = min(hard_negatives, int(neg[anchors].sum(dim=1).min().item()))
        idx = dn.topk(k, dim=1, largest=False).indices
        neg_loss = hinge[anchors].gather(1, idx).mean()
    else:
        neg_loss = hinge[neg].mean()
    loss = pos_loss + neg_loss
    with torch.no_grad():
        stats = {
            "pos_d": float(d[pos].mean()) if pos.any() else 0.0,
            "neg_d": float(d[neg].mean()),
            "active_neg": float((d[neg] < margin).float().mean()),
        }
    return loss, stats


def distillation_loss(emb: torch.Tensor, proj: torch.Tensor | None, teacher: torch.Tensor,
                      mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Two views of "reproduce the teacher" on the rows that have a teacher embedding:
    relational: squared error between the student's and the teacher's pairwise distances (both
    L2-normalised, so distances live in [0, 2] for both); direct: 1 - cosine between a training-only
    linear projection of the student embedding and the teacher embedding."""
    if int(mask.sum()) < 2:
        zero = emb.sum() * 0
        return zero, zero
    s = emb[mask]
    t = teacher[mask]
    ds = pairwise_distance(s)
    dt = pairwise_distance(t)
    off = ~torch.eye(s.shape[0], dtype=torch.bool, device=emb.device)
    relational = ((ds - dt) ** 2)[off].mean()
    if proj is None:
        direct = emb.sum() * 0
    else:
        direct = (1 - (unit_rows(proj[mask]) * t).sum(dim=1)).mean()
    return relational, direct


def proxy_distillation_loss(proj: torch.Tensor, teacher: torch.Tensor, proxies: torch.Tensor, scale: float,
                            mask: torch.Tensor) -> torch.Tensor:
    """Where the teacher puts a face among every training person: KL(teacher || student) between
    softmaxes of `scale` x cosine against `proxies` (one L2-normalised teacher centroid per person,
    [P, D]), the student's side through the direct term's projection `proj`. The teacher's own
    distribution is its answer to "whose face is this"; matching it asks the student for the
    teacher's neighbourhood of each face among all people at once, not only within a batch."""
    if not bool(mask.any()):
        return proj.sum() * 0
    log_s = torch.log_softmax(scale * (unit_rows(proj[mask]) @ proxies.t()), dim=1)
    log_t = torch.log_softmax(scale * (teacher[mask] @ proxies.t()), dim=1)
    return (log_t.exp() * (log_t - log_s)).sum(dim=1).mean()
