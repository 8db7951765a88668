"""Crop directory loading (format written by the TypeScript `prepare` CLI),
LFW pairs-file parsing, person-disjoint splits and PK batch sampling."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import numpy as np

from .model import INPUT_HEIGHT, INPUT_WIDTH

INDEX_HEADER = ["index", "name", "image", "detected", "faces"]


@dataclass
class Crops:
    images: np.ndarray  # uint8 [N, H, W]
    names: list[str]  # person per row
    image_numbers: list[int]
    detected: np.ndarray  # uint8 [N]
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.names)


def load_crops(directory: str) -> Crops:
    with open(os.path.join(directory, "meta.json"), encoding="utf-8") as fh:
        meta = json.load(fh)
    height, width, count = int(meta["height"]), int(meta["width"]), int(meta["count"])
    if (height, width) != (INPUT_HEIGHT, INPUT_WIDTH):
        raise ValueError(f"crops are {height}x{width}, the model expects {INPUT_HEIGHT}x{INPUT_WIDTH}")
    raw = np.fromfile(os.path.join(directory, "crops.u8"), dtype=np.uint8)
    if raw.size != count * height * width:
        raise ValueError(f"crops.u8 has {raw.size} bytes, expected {count}x{height}x{width}")
    images = raw.reshape(count, height, width)

    names: list[str | None] = [None] * count
    numbers = [0] * count
    detected = np.zeros(count, dtype=np.uint8)
    with open(os.path.join(directory, "index.tsv"), encoding="utf-8") as fh:
        header = fh.readline().rstrip("\n").split("\t")
        if header[: len(INDEX_HEADER)] != INDEX_HEADER:
            raise ValueError(f"unexpected index.tsv header {header}")
        for line in fh:
            line = line.rstrip("\n")
            if not line:
                continue
            cols = line.split("\t")
            idx = int(cols[0])
            if not 0 <= idx < count or names[idx] is not None:
                raise ValueError(f"bad or duplicate index {idx} in index.tsv")
            names[idx] = cols[1]
            numbers[idx] = int(cols[2])
            detected[idx] = int(cols[3])
    missing = [i for i, n in enumerate(names) if n is None]
    if missing:
        raise ValueError(f"index.tsv has no row for {len(missing)} crops (first: {missing[0]})")
    return Crops(images, names, numbers, detected, meta)  # type: ignore[arg-type]


def parse_pairs(path: str, fold: int | None = None) -> list[tuple[tuple[str, int], tuple[str, int]]]:
    """The pairs of an LFW pairs file (or only of fold `fold` of a 10-fold file), each as two
    (person, image number) entries."""
    with open(path, encoding="utf-8") as fh:
        lines = [ln.rstrip("\n") for ln in fh if ln.strip()]
    header = lines[0].split()
    body = lines[1:]
    if len(header) == 1:
        if fold is not None:
            raise ValueError(f"{path} has no folds (header {lines[0]!r}) but a fold was requested")
        selected = body
    elif len(header) == 2:
        folds, per = int(header[0]), int(header[1])
        if len(body) != folds * 2 * per:
            raise ValueError(f"{path}: expected {folds * 2 * per} pair lines, found {len(body)}")
        if fold is None:
            selected = body
        else:
            if not 0 <= fold < folds:
                raise ValueError(f"fold {fold} out of range 0..{folds - 1}")
            selected = body[fold * 2 * per:(fold + 1) * 2 * per]
    else:
        raise ValueError(f"{path}: unrecognised header {lines[0]!r}")
    pairs = []
    for ln in selected:
        cols = ln.split("\t") if "\t" in ln else ln.split()
        try:
            if len(cols) == 3:
                pairs.append(((cols[0], int(cols[1])), (cols[0], int(cols[2]))))
            elif len(cols) == 4:
                pairs.append(((cols[0], int(cols[1])), (cols[2], int(cols[3]))))
            else:
                raise ValueError
        except ValueError:
            raise ValueError(f"{path}: bad pair line {ln!r}") from None
    return pairs


def parse_pairs_people(path: str, fold: int | None = None) -> set[str]:
    """Every person named in an LFW pairs file (or only in fold `fold` of a 10-fold file)."""
    return {name for pair in parse_pairs(path, fold) for name, _ in pair}


def excluded_people(paths: list[str], fold: int | None = None) -> tuple[set[str], list[dict]]:
    """The people of the pairs files `paths` (of fold `fold` only, in files that have folds; whole
    in files without), and one record per file. A fold that no file has is refused."""
    excluded: set[str] = set()
    exclusions = []
    for path in paths:
        try:
            people, file_fold = parse_pairs_people(path, fold), fold
        except ValueError as err:
            if fold is None or "has no folds" not in str(err):
                raise
            people, file_fold = parse_pairs_people(path), None
        exclusions.append({"file": os.path.abspath(path), "fold": file_fold, "people": len(people)})
        excluded |= people
    if fold is not None and all(e["fold"] is None for e in exclusions):
        raise ValueError("--exclude-fold given but no --exclude-pairs file has folds")
    return excluded, exclusions


def parse_pairs_images(path: str) -> set[tuple[str, int]]:
    """Every (person, image number) an LFW pairs file compares."""
    return {entry for pair in parse_pairs(path) for entry in pair}


@dataclass
class Split:
    train_people: list[list[int]]  # row indices per person with >= 2 images
    train_people_names: list[str]
    single_indices: np.ndarray  # rows of single-image people (extra negatives)
    val_people: list[list[int]]
    val_people_names: list[str]
    excluded_people_in_crops: int

    def train_indices(self) -> np.ndarray:
        rows = [i for p in self.train_people for i in p] + list(self.single_indices)
        return np.array(sorted(rows), dtype=np.int64)

    def train_mask(self, count: int) -> np.ndarray:
        """Bool per crop row (of `count`): True for the training rows."""
        mask = np.zeros(count, dtype=bool)
        mask[self.train_indices()] = True
        return mask

    def val_indices(self) -> np.ndarray:
        return np.array(sorted(i for p in self.val_people for i in p), dtype=np.int64)


def make_split(crops: Crops, excluded: set[str], val_fraction: float, seed: int,
               held_out: frozenset[tuple[str, int]] = frozenset()) -> Split:
    """People split into training and validation, without the `excluded` people. `held_out`
    images (person, image number), e.g. the pairs a threshold is chosen on, are left out of both
    while their people's other images stay."""
    by_person: dict[str, list[int]] = {}
    for i, name in enumerate(crops.names):
        if (name, crops.image_numbers[i]) not in held_out:
            by_person.setdefault(name, []).append(i)
    names = sorted(by_person)
    excluded_present = sum(1 for n in names if n in excluded)
    kept = [n for n in names if n not in excluded]
    multi = [n for n in kept if len(by_person[n]) >= 2]
    single = [n for n in kept if len(by_person[n]) == 1]
    rng = np.random.RandomState(seed)
    order = rng.permutation(len(multi))
    n_val = int(round(val_fraction * len(multi)))
    val_set = {multi[i] for i in order[:n_val]}
    train_names = [n for n in multi if n not in val_set]
    val_names = [n for n in multi if n in val_set]
    split = Split(
        train_people=[by_person[n] for n in train_names],
        train_people_names=train_names,
        single_indices=np.array([by_person[n][0] for n in single], dtype=np.int64),
        val_people=[by_person[n] for n in val_names],
        val_people_names=val_names,
        excluded_people_in_crops=excluded_present,
    )
    assert_disjoint(crops, split, excluded, held_out)
    return split


def assert_disjoint(crops: Crops, split: Split, excluded: set[str],
                    held_out: frozenset[tuple[str, int]] = frozenset()) -> None:
    """Training and validation must never contain an excluded person or a held-out image."""
    train_names = {crops.names[i] for i in split.train_indices()}
    val_names = {crops.names[i] for i in split.val_indices()}
    assert not (train_names & excluded), f"excluded people in training: {sorted(train_names & excluded)[:5]}"
    assert not (val_names & excluded), f"excluded people in validation: {sorted(val_names & excluded)[:5]}"
    assert not (train_names & val_names), "validation people leaked into training"
    rows = np.concatenate([split.train_indices(), split.val_indices()])
    used = {(crops.names[i], crops.image_numbers[i]) for i in rows}
    assert not (used & held_out), f"held-out images in training or validation: {sorted(used & held_out)[:5]}"


def make_val_pairs(split: Split, seed: int, max_pos_per_person: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Balanced matched / mismatched pairs among validation people (rows into crops)."""
    rng = np.random.RandomState(seed + 1)
    pos: list[tuple[int, int]] = []
    for rows in split.val_people:
        cand = [(rows[a], rows[b]) for a in range(len(rows)) for b in range(a + 1, len(rows))]
        take = rng.permutation(len(cand))[:max_pos_per_person]
        pos += [cand[t] for t in take]
    neg: set[tuple[int, int]] = set()
    people = split.val_people
    if len(people) < 2:
        raise ValueError("validation needs at least 2 people; raise --val-fraction or use more data")
    attempts = 0
    while len(neg) < len(pos) and attempts < 100 * len(pos):
        attempts += 1
        a, b = rng.choice(len(people), 2, replace=False)
        i = people[a][rng.randint(len(people[a]))]
        j = people[b][rng.randint(len(people[b]))]
        neg.add((min(i, j), max(i, j)))
    pairs = np.array(pos + sorted(neg), dtype=np.int64)
    same = np.array([1] * len(pos) + [0] * len(neg), dtype=np.int64)
    return pairs, same


class PKSampler:
    """Batches of P identities x K images (people with >= 2 images) plus S single-image
    people as extra negatives. Each person appears ceil(n/K) times per epoch (capped), so
    large classes are seen more often without dominating."""

    def __init__(self, split: Split, p: int, k: int, singles: int, seed: int, max_appearances: int = 4):
        self.people = [np.array(r, dtype=np.int64) for r in split.train_people]
        self.singles = split.single_indices
        self.p, self.k, self.s = p, k, singles
        self.max_appearances = max_appearances
        self.rng = np.random.RandomState(seed + 2)
        self.appearances = [min(max_appearances, -(-len(r) // k)) for r in self.people]

    def batches_per_epoch(self) -> int:
        return sum(self.appearances) // self.p

    def epoch(self):
        rng = self.rng
        slots: list[np.ndarray] = []
        labels: list[int] = []
        for pid, rows in enumerate(self.people):
            perm = rows[rng.permutation(len(rows))]
            for a in range(self.appearances[pid]):
                chunk = perm[a * self.k:(a + 1) * self.k]
                if len(chunk) < self.k:  # top up from the person's other images
                    extra = rows[rng.randint(0, len(rows), self.k - len(chunk))]
                    chunk = np.concatenate([chunk, extra])
                slots.append(chunk)
                labels.append(pid)
        order = rng.permutation(len(slots))
        n_batches = len(slots) // self.p
        for b in range(n_batches):
            sel = order[b * self.p:(b + 1) * self.p]
            rows = np.concatenate([slots[s] for s in sel])
            lab = np.repeat(np.array([labels[s] for s in sel]), self.k)
            if self.s and len(self.singles):
                extra = self.singles[rng.choice(len(self.singles), min(self.s, len(self.singles)), replace=False)]
                rows = np.concatenate([rows, extra])
                lab = np.concatenate([lab, -1 - np.arange(len(extra))])  # unique negative labels
            yield rows, lab


def load_teacher(directories: list[str], crops: Crops) -> tuple[np.ndarray, np.ndarray, dict]:
    """Teacher embeddings (written by packages/teacher's embed CLI: embeddings.f32 + index.tsv +
    meta.json per directory, several directories = shards of one run) aligned with crop rows.
    Returns L2-normalised float32 [N, D], a bool mask of rows that have a teacher embedding, and
    the first directory's meta."""
    row_of = {(n, k): i for i, (n, k) in enumerate(zip(crops.names, crops.image_numbers))}
    target: np.ndarray | None = None
    mask = np.zeros(len(crops), dtype=bool)
    meta: dict = {}
    for directory in directories:
        with open(os.path.join(directory, "meta.json"), encoding="utf-8") as fh:
            m = json.load(fh)
        meta = meta or m
        dim = int(m["dim"])
        values = np.fromfile(os.path.join(directory, "embeddings.f32"), dtype="<f4")
        if values.size % dim:
            raise ValueError(f"{directory}/embeddings.f32 is not a multiple of dim {dim}")
        values = values.reshape(-1, dim)
        if target is None:
            target = np.zeros((len(crops), dim), dtype=np.float32)
        with open(os.path.join(directory, "index.tsv"), encoding="utf-8") as fh:
            header = fh.readline().rstrip("\n").split("\t")
            if header[: len(INDEX_HEADER)] != INDEX_HEADER:
                raise ValueError(f"unexpected {directory}/index.tsv header {header}")
            for line in fh:
                cols = line.rstrip("\n").split("\t")
                if len(cols) < 3:
                    continue
                row = row_of.get((cols[1], int(cols[2])))
                if row is None:
                    continue  # an image the crops do not have
                target[row] = values[int(cols[0])]
                mask[row] = True
    if target is None:
        raise ValueError("no teacher directories given")
    norms = np.linalg.norm(target, axis=1, keepdims=True)
    target = np.where(norms > 0, target / np.maximum(norms, 1e-12), 0).astype(np.float32)
    return target, mask, meta


@dataclass
class Views:
    """Augmented student crops with the teacher's embedding of each (fvtrain.views)."""
    crops: np.ndarray  # uint8 [V, N, H, W]
    target: np.ndarray  # float32 [V, N, D], L2-normalised
    rows: np.ndarray  # bool [N]: rows that have views
    meta: dict


def load_views(directory: str, crops: Crops) -> Views:
    with open(os.path.join(directory, "meta.json"), encoding="utf-8") as fh:
        meta = json.load(fh)
    v, n, dim = int(meta["views"]), int(meta["count"]), int(meta["dim"])
    if n != len(crops):
        raise ValueError(f"{directory} has views of {n} crops, the crop directory has {len(crops)}")
    images = np.load(os.path.join(directory, "crops.npy"))
    if images.shape != (v, n, INPUT_HEIGHT, INPUT_WIDTH):
        raise ValueError(f"{directory}/crops.npy is {images.shape}, expected {(v, n, INPUT_HEIGHT, INPUT_WIDTH)}")
    target = np.fromfile(os.path.join(directory, "teacher.f32"), dtype="<f4")
    if target.size != v * n * dim:
        raise ValueError(f"{directory}/teacher.f32 has {target.size} values, expected {v * n * dim}")
    rows = np.fromfile(os.path.join(directory, "rows.u8"), dtype=np.uint8)
    if rows.size != n:
        raise ValueError(f"{directory}/rows.u8 has {rows.size} rows, expected {n}")
    return Views(images, target.reshape(v, n, dim), rows.astype(bool), meta)


def concat_views(sets: list[Views]) -> Views:
    """Several view sets of one crop directory (e.g. mild and strong augmentation) as one: the views
    of each set follow each other, and a row has views only where every set has them."""
    if len({s.target.shape[2] for s in sets}) != 1:
        raise ValueError("view sets with different teacher dimensions cannot be combined")
    if len(sets) == 1:
        return sets[0]
    rows = np.logical_and.reduce([s.rows for s in sets])
    return Views(np.concatenate([s.crops for s in sets]), np.concatenate([s.target for s in sets]), rows,
                 {"sets": [s.meta for s in sets]})


@dataclass
class Mixes:
    """Blends of two faces with the teacher's embedding of each blend (fvtrain.views --mixes)."""
    crops: np.ndarray  # uint8 [M, H, W]
    target: np.ndarray  # float32 [M, D], L2-normalised
    sources: np.ndarray  # int64 [M, 2]: the crop rows blended
    meta: dict

    def within(self, rows_mask: np.ndarray) -> np.ndarray:
        """Indices of the blends whose two faces both lie in `rows_mask` (bool per crop row)."""
        return np.flatnonzero(rows_mask[self.sources[:, 0]] & rows_mask[self.sources[:, 1]])


def load_mixes(directory: str, crops: Crops) -> Mixes:
    with open(os.path.join(directory, "meta.json"), encoding="utf-8") as fh:
        meta = json.load(fh)
    m, dim = int(meta["mixes"]), int(meta["dim"])
    if int(meta["crops_count"]) != len(crops):
        raise ValueError(f"{directory} blends rows of {meta['crops_count']} crops, the crop directory has {len(crops)}")
    images = np.load(os.path.join(directory, "crops.npy"))
    sources = np.load(os.path.join(directory, "sources.npy"))
    target = np.fromfile(os.path.join(directory, "teacher.f32"), dtype="<f4")
    if images.shape != (m, INPUT_HEIGHT, INPUT_WIDTH) or sources.shape != (m, 2) or target.size != m * dim:
        raise ValueError(f"{directory}: crops {images.shape}, sources {sources.shape}, {target.size} teacher "
                         f"values do not hold {m} blends")
    if sources.min() < 0 or sources.max() >= len(crops):
        raise ValueError(f"{directory}/sources.npy names rows outside the crop directory")
    return Mixes(images, target.reshape(m, dim), sources, meta)
