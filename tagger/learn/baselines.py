"""What `tagger evaluate tags` compares the learned heads with, in the same run.

zero-shot  today's engine: metadata-only titles through the default pipeline's text and tags stages
probe      plain logistic regression on the MiniLM synopsis vectors, one per tag, fires at 0.5
tfidf-lr   TF-IDF of the synopsis + plain logistic regression, one per tag, fires at 0.5
Both weigh the classes evenly (scikit-learn's class_weight="balanced"): unweighted, a tag with a
few dozen positives among thousands never reaches 0.5 and the baseline fires almost nothing.
"""
from __future__ import annotations

import hashlib
import json
import logging

import numpy as np

log = logging.getLogger(__name__)
PLAIN_THRESHOLD = 0.5


def zero_shot(titles: list[tuple[str, str, str]], *, pipeline_name: str = "default",
              batch: int = 256) -> dict[str, dict[str, float]]:
    """title id -> {fired tag: confidence} from the engine, for (id, title, synopsis) titles.

    Results are cached on disk per engine digest and synopsis, so a rerun does not analyse again.
    """
    import dataclasses

    from tagger.engine import Engine
    from tagger.pipeline import load_pipeline
    from tagger.text.encoder import cache_root
    from tagger.titles import TitleInput

    base = load_pipeline(pipeline_name)
    pipeline = dataclasses.replace(base, stages=("text", "tags"),
                                   settings={k: base.settings[k] for k in ("text", "tags")})
    engine = Engine(pipeline)
    path = cache_root() / "zeroshot" / f"{engine.digest[:16]}.json"
    try:
        cached = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cached = {}

    def key(title_id, synopsis):
        return hashlib.sha256(f"{title_id}\n{synopsis}".encode()).hexdigest()[:24]

    todo = [t for t in titles if key(t[0], t[2]) not in cached]
    if todo:
        log.info("zero-shot: analysing %d titles with the engine (%d cached)", len(todo), len(titles) - len(todo))
    for start in range(0, len(todo), batch):
        chunk = [TitleInput(id=i, title=name, source="evaluate", synopsis=synopsis)
                 for i, name, synopsis in todo[start:start + batch]]
        engine.prepare(chunk)
        for title in chunk:
            result = engine.analyse(title)
            cached[key(title.id, title.synopsis)] = {t.tag: t.confidence for t in result.tags if t.scene is None}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.with_suffix(".partial").write_text(json.dumps(cached), encoding="utf-8")
        path.with_suffix(".partial").replace(path)
    return {t[0]: cached[key(t[0], t[2])] for t in titles}


def plain_lr(train_x, labels, weights, test_x, *, sparse: bool = False) -> np.ndarray:
    """(test titles, tags) probabilities of one default, class-balanced logistic regression per tag,
    fitted on the training titles whose label is known; tags without both classes get 0."""
    from sklearn.linear_model import LogisticRegression

    out = np.zeros((test_x.shape[0], labels.shape[1]), np.float32)
    for j in range(labels.shape[1]):
        known = weights[:, j] > 0
        y = labels[known, j] > 0.5
        if y.all() or not y.any():
            continue
        model = LogisticRegression(max_iter=1000, solver="liblinear" if sparse else "lbfgs", class_weight="balanced")
        model.fit(train_x[known], y)
        out[:, j] = model.predict_proba(test_x)[:, 1]
    return out


def tfidf(train_texts: list[str], test_texts: list[str]):
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectoriser = TfidfVectorizer(sublinear_tf=True, min_df=2, ngram_range=(1, 2), stop_words="english",
                                 max_features=50000)
    return vectoriser.fit_transform(train_texts), vectoriser.transform(test_texts)
