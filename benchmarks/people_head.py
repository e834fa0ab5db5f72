"""Fit and measure the people head (tagger/vision/people_head.py) on photographs with person boxes.

    python benchmarks/people_head.py --data DIR [--fit] [--json FILE]

DIR holds box files (``boxes.csv``: image, width, height, x0, y0, x1, y1, one row per person box
and one with empty x0..y1 for a picture without people; image paths relative to DIR) and
optionally picture lists known to show nobody (``negatives.csv``: image, source, category), in
any subfolder. Each picture is scaled to each of HEIGHTS_PX rows and run through EfficientNet-
Lite0's trunk; a cell whose centre lies in a person box (or that holds a box smaller than a
cell) is a person cell, one that no box touches is not, the rest are left out. Up to
CELLS_PER_PICTURE of each kind are kept per picture and height (cached in --cache, outside the
project: they are the data set's).

Without --fit: pictures are split in FOLDS groups; one network is fitted on the others and scored
on each group: a picture's score is its largest cell logit, and the area under the ROC curve of
that score against "has a person" is printed with the cells' own. With --fit: fitted on every
picture (ENSEMBLE networks from different seeds, averaged) and written to
tagger/vision/people_head.npz with a note. The threshold a keyframe
needs is chosen on the validation frames (benchmarks/vision.py --parts validation), not here.
"""
from __future__ import annotations

import argparse
import csv
import datetime
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HEIGHTS_PX = (224, 320, 448)    # the scales pictures are seen at: people fill more or fewer cells
CELLS_PER_PICTURE = 40          # of each kind (person, not), per picture and height
HIDDEN = 64                     # units of the hidden layer (0: a logistic regression)
EPOCHS = 6
ENSEMBLE = 3                    # networks fitted from different seeds and averaged (one wider layer)
WEIGHT_DECAY = 1e-4
BATCH = 1024
FOLDS = 5


def read_pictures(data: Path) -> dict[str, list[tuple[float, float, float, float]]]:
    """picture path (relative to `data`) -> its person boxes (x0, y0, x1, y1) in pixels."""
    pictures: dict[str, list] = {}
    for path in sorted(data.rglob("boxes.csv")) + sorted(data.rglob("negatives.csv")):
        with open(path, newline="", encoding="utf-8") as handle:
            for line, row in enumerate(csv.DictReader(handle), start=2):
                boxes = pictures.setdefault(row["image"], [])
                if row.get("x0"):
                    try:
                        boxes.append(tuple(float(row[k]) for k in ("x0", "y0", "x1", "y1")))
                    except (KeyError, ValueError) as error:
                        raise SystemExit(f"{path}:{line}: bad box for {row['image']}: {error}") from None
    return pictures


def cell_labels(boxes, rows: int, columns: int, x_scale: float, y_scale: float) -> np.ndarray:
    """(rows, columns) of 1 (a person cell), 0 (no box touches it) or -1 (left out); boxes in
    picture pixels, scaled by x_scale, y_scale (cells per picture pixel)."""
    labels = np.zeros((rows, columns), np.int8)
    for x0, y0, x1, y1 in boxes:
        left, top, right, bottom = x0 * x_scale, y0 * y_scale, x1 * x_scale, y1 * y_scale
        for row in range(max(0, int(top)), min(rows, int(np.ceil(bottom)))):
            for column in range(max(0, int(left)), min(columns, int(np.ceil(right)))):
                centre_inside = left <= column + 0.5 <= right and top <= row + 0.5 <= bottom
                holds_box = column <= (left + right) / 2 < column + 1 and row <= (top + bottom) / 2 < row + 1
                if centre_inside or holds_box:
                    labels[row, column] = 1
                elif labels[row, column] == 0:
                    labels[row, column] = -1
    return labels


def picture_cells(encoder, image: np.ndarray, boxes, rng: np.random.Generator):
    """(features (n, 1280) float16, labels (n,)) of the cells kept from one picture, every height."""
    from tagger.vision.efficientnet import CELL_PX

    height, width = image.shape[:2]
    features, labels = [], []
    for height_px in HEIGHTS_PX:
        cells = encoder.cell_features(image, height_px=height_px)   # row by row
        rows = height_px // CELL_PX
        columns = len(cells) // rows
        flat = cell_labels(boxes, rows, columns, columns / width, rows / height).reshape(-1)
        for label in (1, 0):
            where = np.flatnonzero(flat == label)
            keep = rng.choice(where, size=min(CELLS_PER_PICTURE, len(where)), replace=False)
            features.append(cells[keep].astype(np.float16))
            labels.append(np.full(len(keep), label, np.int8))
    return np.concatenate(features), np.concatenate(labels)


def all_cells(data: Path, pictures: dict, cache: Path):
    """(features, labels, picture number of each cell, names), cached per data folder and settings."""
    import cv2

    from tagger.vision.efficientnet import EfficientNetLite0

    names = sorted(pictures)
    key = f"{len(names)}-{'-'.join(map(str, HEIGHTS_PX))}-{CELLS_PER_PICTURE}"
    path = cache / f"people-cells-{key}.npz"
    if path.is_file():
        data_file = np.load(path)
        return data_file["features"], data_file["labels"], data_file["owners"], names
    encoder = EfficientNetLite0.load()
    rng = np.random.default_rng(0)
    features, labels, owners = [], [], []
    started = time.perf_counter()
    for number, name in enumerate(names):
        image = cv2.imread(str(data / name), cv2.IMREAD_COLOR)
        if image is None:
            print(f"  {data / name}: not readable, left out")
            continue
        cell_features, cell_label = picture_cells(encoder, image, pictures[name], rng)
        features.append(cell_features)
        labels.append(cell_label)
        owners.append(np.full(len(cell_label), number, np.int32))
        if number % 500 == 499:
            print(f"  {number + 1}/{len(names)} pictures, {time.perf_counter() - started:.0f} s", flush=True)
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, features=np.concatenate(features), labels=np.concatenate(labels), owners=np.concatenate(owners))
    return np.concatenate(features), np.concatenate(labels), np.concatenate(owners), names


def fit_network(features: np.ndarray, labels: np.ndarray, *, seed: int):
    """(standardising mean, scale, [(weight (in, out), bias)]) of one network fitted on (cells,
    1280) features and their 0/1 labels (person cells weighted up to balance the two kinds)."""
    import torch

    torch.manual_seed(seed)
    x = torch.from_numpy(features.astype(np.float32))
    y = torch.from_numpy(labels.astype(np.float32))
    mean, scale = x.mean(0), x.std(0) + 1e-3
    x.sub_(mean).div_(scale)   # in place: a million cells of 1280 floats are 5 GB
    layers = [torch.nn.Linear(x.shape[1], HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, 1)] if HIDDEN \
        else [torch.nn.Linear(x.shape[1], 1)]
    net = torch.nn.Sequential(*layers)
    optimiser = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=WEIGHT_DECAY)
    loss = torch.nn.BCEWithLogitsLoss(pos_weight=(y == 0).sum() / (y == 1).sum().clamp(min=1))
    for _ in range(EPOCHS):
        order = torch.randperm(len(y))
        for start in range(0, len(y), BATCH):
            batch = order[start:start + BATCH]
            optimiser.zero_grad()
            loss(net(x[batch])[:, 0], y[batch]).backward()
            optimiser.step()
    dense = [(layer.weight.detach().numpy().T.copy(), layer.bias.detach().numpy().copy())
             for layer in net if isinstance(layer, torch.nn.Linear)]
    return mean.numpy(), scale.numpy(), dense


def fit_head(features: np.ndarray, labels: np.ndarray, *, networks: int = ENSEMBLE, note: dict | None = None):
    """A PeopleHead averaging `networks` networks fitted from seeds 0, 1, ...: their hidden
    layers side by side and their output weights divided by their number give the mean logit."""
    from tagger.vision.people_head import PeopleHead

    fitted = [fit_network(features, labels, seed=seed) for seed in range(networks)]
    mean, scale = fitted[0][:2]   # the same data, so the same standardisation
    if len(fitted[0][2]) == 1:    # logistic regressions: average the weights
        layers = ((np.mean([f[2][0][0] for f in fitted], axis=0), np.mean([f[2][0][1] for f in fitted], axis=0)),)
    else:
        layers = ((np.concatenate([f[2][0][0] for f in fitted], axis=1), np.concatenate([f[2][0][1] for f in fitted])),
                  (np.concatenate([f[2][1][0] for f in fitted]) / networks, np.mean([f[2][1][1] for f in fitted], axis=0)))
    return PeopleHead(mean, scale, layers, note or {})


def roc_auc(scores: np.ndarray, truth: np.ndarray) -> float:
    """Area under the ROC curve (ties count half)."""
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    for value in np.unique(scores[np.diff(np.sort(scores), prepend=np.nan) == 0]):   # average tied ranks
        tied = scores == value
        ranks[tied] = ranks[tied].mean()
    positives = truth.sum()
    return float((ranks[truth].sum() - positives * (positives + 1) / 2) / (positives * (len(truth) - positives)))


def cross_validate(features, labels, owners, pictures: dict, names: list[str]) -> dict:
    """Held-out scores over FOLDS groups of pictures: cell AUC and picture AUC (a picture scored
    from its sampled cells as people.py scores a keyframe)."""
    from tagger.vision.people import picture_head_score

    rng = np.random.default_rng(0)
    fold_of = rng.integers(0, FOLDS, size=len(names))
    has_person = np.array([bool(pictures[name]) for name in names])
    cell_scores, picture_scores = np.zeros(len(labels)), np.full(len(names), np.nan)
    for fold in range(FOLDS):
        held = fold_of[owners] == fold
        head = fit_head(features[~held], labels[~held], networks=1)   # one network: the ensemble's members
        cell_scores[held] = head.cell_logits(features[held])
        for number in np.unique(owners[held]):
            picture_scores[number] = picture_head_score(cell_scores[owners == number])
    seen = ~np.isnan(picture_scores)
    return {"cells": int(len(labels)), "person_cells": int(labels.sum()),
            "pictures": int(seen.sum()), "pictures_with_people": int(has_person[seen].sum()),
            "cell_auc": roc_auc(cell_scores, labels == 1),
            "picture_auc": roc_auc(picture_scores[seen], has_person[seen])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "persondata",
                        help="folder with boxes.csv (and negatives.csv) files and their pictures")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "tagger-people-head")
    parser.add_argument("--fit", action="store_true", help="fit on every picture and write tagger/vision/people_head.npz")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()

    pictures = read_pictures(args.data)
    if not pictures:
        print(f"skipped: no boxes.csv under {args.data}; pass --data DIR")
        return 0
    with_people = sum(bool(boxes) for boxes in pictures.values())
    print(f"{len(pictures)} pictures, {with_people} with people, "
          f"{sum(map(len, pictures.values()))} person boxes; heights {HEIGHTS_PX}")
    features, labels, owners, names = all_cells(args.data, pictures, args.cache)
    results = cross_validate(features, labels, owners, pictures, names)
    print(f"{FOLDS}-fold by picture: cell AUC {results['cell_auc']:.3f}, picture AUC {results['picture_auc']:.3f} "
          f"({results['pictures']} pictures, {results['cells']} cells)")
    if args.fit:
        note = {"made_by": "python benchmarks/people_head.py --fit --data DIR",
                "date": datetime.date.today().isoformat(),
                "data_set": "person boxes of MS COCO 2017 pictures (subsets re-hosted on GitHub; COCO annotations "
                            "CC BY 4.0, pictures under their Flickr licences) and pictures known to show nobody; "
                            "research use; only these fitted numbers are shipped",
                "labels": "a cell is a person cell when its centre lies in a person box or it holds a box "
                          "smaller than a cell; not one when no box touches it; others left out",
                "model": f"standardised features, dense {HIDDEN} ReLU, one logit; AdamW, weight decay "
                         f"{WEIGHT_DECAY}, {EPOCHS} epochs, person cells weighted to balance; the mean of "
                         f"{ENSEMBLE} such networks from seeds 0..{ENSEMBLE - 1} (one layer of {ENSEMBLE * HIDDEN})",
                "cells": int(len(labels)), "pictures": len(names), "pictures_with_people": with_people,
                "heights_px": list(HEIGHTS_PX), "cross_validated": {k: round(v, 4) if isinstance(v, float) else v
                                                                    for k, v in results.items()}}
        from tagger.vision.people_head import PEOPLE_HEAD_FILE, save_people_head

        save_people_head(PEOPLE_HEAD_FILE, fit_head(features, labels, note=note))
        print(f"wrote {PEOPLE_HEAD_FILE}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
