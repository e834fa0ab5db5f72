"""`tagger evaluate tags`: the learned heads against labels nobody here wrote, beside the baselines.

1. Public labels (MovieLens, TMDB) mapped by the taxonomy's label map; the titles are split by
   title: a test share that training never sees, not even for thresholds or hyper-parameters
   (those are chosen on folds of the training titles, in train.py).
2. Methods, in one run: zero-shot (today's engine), tagger (the learned heads; tags without a
   head fall back to zero-shot), tfidf-lr and probe (plain logistic regressions at 0.5).
3. Per tag precision, recall and F1 on the test titles whose label is known; macro F1 over
   the genre facet and over the fine-grained facets, counting the tags with at least
   MIN_TEST_POSITIVES positives among the test titles (the same tags for every method); mean
   precision over the tags that fired; expected calibration error where there are probabilities.
4. The editor simulation (simulate.py).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from tagger.learn.metrics import GROUPS, MIN_TEST_POSITIVES, evaluated_columns, score

METHODS = ("zero-shot", "tagger", "tfidf-lr", "probe")


def split_titles(count: int, seed: int, test_share: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) row indices, by title."""
    order = np.random.default_rng(seed).permutation(count)
    cut = int(round(count * test_share))
    return np.sort(order[cut:]), np.sort(order[:cut])


def evaluate(data_dir: str | Path, *, seed: int = 0, taxonomy_name: str = "default", simulate: bool = True,
             log=print) -> dict:
    from tagger.learn import baselines
    from tagger.learn.dataset import build_dataset
    from tagger.learn.heads import TagHeads
    from tagger.learn.label_map import label_map_path, load_label_map
    from tagger.learn.labels import read_public_labels
    from tagger.learn.train import TrainSettings, train
    from tagger.tagging.taxonomy import load_taxonomy

    started = time.perf_counter()
    taxonomy = load_taxonomy(taxonomy_name)
    label_map = load_label_map(label_map_path(taxonomy), taxonomy)
    data = build_dataset(read_public_labels(data_dir, label_map), taxonomy, log=log)
    train_rows, test_rows = split_titles(len(data.title_ids), seed)
    training, test = data.subset(train_rows), data.subset(test_rows)
    log(f"{len(training.title_ids)} training titles, {len(test.title_ids)} test titles; fitting heads")
    settings = TrainSettings(seed=seed)
    fitted = train(training.rows, training.synopses, training.labels, training.weights, data.tag_ids,
                   training.zeroshot(), settings)
    heads = TagHeads.from_fit(fitted, data.builder.layout, taxonomy, {"data": str(data_dir)})
    log(f"{len(heads.tag_ids)} heads (min {fitted.report['min_positives']} positives); running the baselines")

    facet_of = {t.id: t.facet for t in taxonomy.tags}
    # the text stage reads only the synopsis: the id stands in for the title's name
    zero = baselines.zero_shot([(t, t, s) for t, s in zip(test.title_ids, test.synopses)])
    zero_fired = np.array([[tag in zero[t] for tag in data.tag_ids] for t in test.title_ids])
    zero_conf = np.stack([test.zeroshot().get(tag, np.zeros(len(test.title_ids))) for tag in data.tag_ids], axis=1)
    tagger_fired, tagger_prob = _with_heads(heads, test.rows, test.synopses, zero_fired, data.tag_ids)
    d = data.builder.layout.dimension
    probe = baselines.plain_lr(training.rows[:, :d], training.labels, training.weights, test.rows[:, :d])
    tf_train, tf_test = baselines.tfidf(training.synopses, test.synopses)
    tfidf = baselines.plain_lr(tf_train, training.labels, training.weights, tf_test, sparse=True)
    predictions = {"zero-shot": (zero_fired, zero_conf), "tagger": (tagger_fired, tagger_prob),
                   "tfidf-lr": (tfidf >= baselines.PLAIN_THRESHOLD, tfidf),
                   "probe": (probe >= baselines.PLAIN_THRESHOLD, probe)}
    has_head = np.array([tag in heads.tag_ids for tag in data.tag_ids])
    results: dict = {}
    for group, facets in GROUPS.items():
        columns = evaluated_columns(test, facet_of, facets)
        results[group] = {method: score(fired[:, columns], prob[:, columns], test.labels[:, columns],
                                        test.weights[:, columns], [data.tag_ids[j] for j in columns],
                                        calibrated=has_head[columns] if method == "tagger" else None)
                          for method, (fired, prob) in predictions.items()}
    if simulate:
        from tagger.learn.simulate import editor_simulation

        log("simulating an editor on the test titles (queue order against random order)")
        results["editor_simulation"] = editor_simulation(fitted, training, test, zero_fired, settings, seed=seed,
                                                         facet_of=facet_of)
    results["meta"] = {"seed": seed, "data": str(data_dir), "taxonomy": taxonomy.id,
                       "titles": {"train": len(training.title_ids), "test": len(test.title_ids)},
                       "heads": len(heads.tag_ids), "min_positives": fitted.report["min_positives"],
                       "min_test_positives": MIN_TEST_POSITIVES, "groups": {k: list(v) for k, v in GROUPS.items()},
                       "seconds": round(time.perf_counter() - started, 1)}
    return results


def _with_heads(heads, rows, synopses, fallback_fired, tag_ids) -> tuple[np.ndarray, np.ndarray]:
    """The tagger method: heads' decisions and probabilities for tags with heads, the zero-shot
    fallback's decisions (probability 0/1) for the others."""
    fired = fallback_fired.copy()
    probability = fallback_fired.astype(np.float32)
    if heads.tag_ids:
        p = heads.probabilities(rows, synopses)
        for k, tag in enumerate(heads.tag_ids):
            j = tag_ids.index(tag)
            probability[:, j] = p[:, k]
            fired[:, j] = p[:, k] >= heads.thresholds[k]
    return fired, probability


def print_table(results: dict, echo=print) -> None:
    for group in GROUPS:
        rows = results[group]
        echo(f"\n{group} ({next(iter(rows.values()))['tags']} tags with >= {MIN_TEST_POSITIVES} test positives)")
        echo(f"{'method':10} {'macro F1':>8} {'P':>6} {'R':>6} {'P fired':>8} {'fired':>6} {'ECE':>6}")
        for method in METHODS:
            r = rows[method]
            ece = f"{r['ece']:.3f}" if r["ece"] is not None else "-"
            echo(f"{method:10} {r['macro_f1']:8.3f} {r['macro_precision']:6.3f} {r['macro_recall']:6.3f} "
                 f"{r['precision_fired']:8.3f} {r['tags_fired']:6d} {ece:>6}")
    sim = results.get("editor_simulation")
    if sim:
        echo("\neditor simulation: macro F1 of the test titles' tags after N decisions")
        echo(f"{'order':8} " + " ".join(f"{n:>7}" for n in sim["decisions"]))
        for order in ("queue", "random"):
            echo(f"{order:8} " + " ".join(f"{v:7.3f}" for v in sim[order]))
