"""Pair-verification metrics: best-threshold accuracy and ROC AUC."""
from __future__ import annotations

import numpy as np


def best_threshold_accuracy(dist: np.ndarray, same: np.ndarray) -> tuple[float, float]:
    """Accuracy of `dist < t` for the best t (midpoint between sorted distances)."""
    order = np.argsort(dist, kind="mergesort")
    d, s = dist[order], same[order].astype(np.int64)
    n = len(d)
    # predicting the first k as 'same': correct = positives in [0,k) + negatives in [k,n)
    pos_prefix = np.concatenate([[0], np.cumsum(s)])
    neg_total = n - s.sum()
    neg_prefix = np.concatenate([[0], np.cumsum(1 - s)])
    correct = pos_prefix + (neg_total - neg_prefix)
    # only cut between distinct distances
    valid = np.ones(n + 1, dtype=bool)
    valid[1:n] = d[1:] != d[:-1]
    correct = np.where(valid, correct, -1)
    k = int(np.argmax(correct))
    if k == 0:
        thr = float(d[0]) - 1e-6
    elif k == n:
        thr = float(d[-1]) + 1e-6
    else:
        thr = float((d[k - 1] + d[k]) / 2)
    return float(correct[k] / n), thr


def roc_auc(dist: np.ndarray, same: np.ndarray) -> float:
    """AUC for scoring 'same' by -distance (Mann-Whitney U with average ranks)."""
    score = -dist
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(len(score), dtype=np.float64)
    sorted_scores = score[order]
    i = 0
    while i < len(score):
        j = i
        while j + 1 < len(score) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    pos = same.astype(bool)
    n_pos, n_neg = pos.sum(), (~pos).sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
