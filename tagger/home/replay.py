"""Offline evaluation of the home page's policies on logs of a uniformly random policy
(tagger.home.simulate): the replay method (Li et al. 2011) for row order, inverse propensity
scoring for artwork, the product's own bandits as the learned policies.

Replay walks the log in time order; an event counts only where the policy, asked then, makes
the logged (uniformly random) choice, and only those events update it. With a uniform logger
this is unbiased for the policy's click-through rate. IPS weighs each click the policy would
have made by 1 / propensity (CANDIDATES): the same estimate, per logged impression.

Each seed makes a training world population and log (what the product would have fitted its
priors on) and an evaluation one; exploration parameters are chosen on validation seeds only.
"""
from __future__ import annotations

import numpy as np

from tagger.home import simulate
from tagger.home.artwork_policy import ArtworkChooser, contexts
from tagger.home.bandits import BetaRows, LinearUCB
from tagger.home.page import row_prior

ALPHAS = (0.0, 0.1, 0.3)           # LinUCB exploration widths tried on the validation seeds
STRENGTHS = (5.0, 20.0, 80.0)      # Beta prior strengths of the rows tried likewise


def artwork_ctrs(seed: int, alpha: float, n_viewers: int = 400) -> dict[str, float]:
    """IPS click-through rate of personalised, best-fixed and random artwork on one seed."""
    train_world = simulate.make_world(seed, n_viewers=n_viewers)
    world = simulate.make_world(seed + 10_000, n_viewers=n_viewers)
    train = simulate.log_images(train_world, seed)
    log = simulate.log_images(world, seed + 1)
    # The population prior, as HomeBuilder fits it: every training impression's context and click.
    look = train_world.look()
    X = np.stack([contexts(train_world.images[t, [s]], look[v], np.zeros(1))[0]
                  for v, t, s in zip(train["viewer"], train["title"], train["shown"])])
    bandit = LinearUCB(ArtworkChooser.fit_prior(X, train["click"].astype(float)), alpha=alpha)
    # Best fixed: per title the image with the best training CTR (titles unseen in training: the first).
    shown_count = np.zeros((len(world.genre), simulate.CANDIDATES))
    click_count = np.zeros_like(shown_count)
    np.add.at(shown_count, (train["title"], train["shown"]), 1)
    np.add.at(click_count, (train["title"], train["shown"]), train["click"])
    fixed = np.argmax((click_count + 0.5) / (shown_count + 5.0), axis=1)
    look = world.look()
    states = {}
    personalised = 0.0
    for v, t, s, c in zip(log["viewer"], log["title"], log["shown"], log["click"]):
        state = states.setdefault(v, bandit.start())
        X = contexts(world.images[t], look[v], np.zeros(simulate.CANDIDATES))
        pick = int(np.argmax(bandit.scores(bandit.posterior(state), X)))
        if pick == s:
            personalised += c * simulate.CANDIDATES
            bandit.update(state, X[s], float(c))
    n = len(log["click"])
    return {"personalised": personalised / n, "best_fixed": ips_ctr(log, fixed[log["title"]]),
            "random": float(np.mean(log["click"]))}


def ips_ctr(log: dict[str, np.ndarray], picks: np.ndarray) -> float:
    """The click-through rate a fixed policy (its pick per logged impression) would have had:
    clicks where it matches the uniform logger, weighed by 1 / propensity."""
    return float(np.sum(log["click"] * (picks == log["shown"]))) * simulate.CANDIDATES / len(log["click"])


def row_ctrs(seed: int, strength: float, n_viewers: int = 400) -> dict[str, float]:
    """Replay click-through rate of the first row, learned order against the fixed one, and the
    share of viewers whose first screen (3 rows) reaches a title they would finish."""
    train_world = simulate.make_world(seed, n_viewers=n_viewers)
    world = simulate.make_world(seed + 10_000, n_viewers=n_viewers)
    train, log = simulate.log_rows(train_world, seed), simulate.log_rows(world, seed + 1)
    n_rows, g = len(world.rows()), world.n_genres
    shown = np.bincount(train["shown"], minlength=n_rows)
    ctr = np.bincount(train["shown"], weights=train["click"], minlength=n_rows) / np.maximum(shown, 1)
    fixed = np.argsort(-ctr, kind="stable")                        # one order for everyone
    kind_ctr = np.array([ctr[:g].mean()] * g + [ctr[g], ctr[g + 1]])  # genre rows share a kind, as micro-genre rows do
    relevance = np.zeros((len(world.taste), n_rows))
    counts = np.stack([np.bincount(world.genre[h], minlength=g) for h in world.history]).astype(float)
    relevance[:, :g] = (counts - counts.mean(axis=1, keepdims=True)) / (counts.std(axis=1, keepdims=True) + 1e-9)
    priors = np.stack([row_prior(kind_ctr, r) for r in relevance])
    bandit, rng = BetaRows(strength), np.random.default_rng(seed)
    stats = np.zeros((len(world.taste), n_rows, 2))
    matched = clicked = fixed_matched = fixed_clicked = 0
    for v, s, c in zip(log["viewer"], log["shown"], log["click"]):
        top = int(np.argmax(bandit.sample(priors[v], stats[v, :, 0], stats[v, :, 1], rng)))
        if top == s:
            matched += 1
            clicked += c
            stats[v, s] += (1, c)
        if fixed[0] == s:
            fixed_matched += 1
            fixed_clicked += c
    learned_orders = [np.argsort(-bandit.sample(priors[v], stats[v, :, 0], stats[v, :, 1], rng)) for v in
                      range(len(world.taste))]
    return {"learned": clicked / max(matched, 1), "fixed": fixed_clicked / max(fixed_matched, 1),
            "learned_reached": _reached(world, learned_orders), "fixed_reached": _reached(world, [fixed] * len(world.taste))}


def _reached(world, orders, rows_on_screen: int = 3, per_row: int = 5) -> float:
    """Share of viewers whose first screen holds a title they would finish: a genre row shows its
    most popular titles, the popular row the most popular, the new row the last-added (highest ids)."""
    g = world.n_genres
    by_popularity = np.argsort(-world.popularity, kind="stable")
    contents = [by_popularity[world.genre[by_popularity] == k] for k in range(g)]
    contents += [by_popularity, np.arange(len(world.genre))[::-1]]
    hits = 0
    for v, order in enumerate(orders):
        finish = world.would_finish(v)
        watched = set(world.history[v].tolist())
        screen = [t for row in order[:rows_on_screen] for t in [x for x in contents[row] if x not in watched][:per_row]]
        hits += bool(finish[screen].any())
    return hits / len(orders)


def evaluate(seeds, validation_seeds, log=print, n_viewers: int = 400) -> dict:
    """Choose alpha and strength on the validation seeds, then measure on `seeds`; the JSON of
    `tagger evaluate home`."""
    from scipy import stats

    alpha = max(ALPHAS, key=lambda a: np.mean([artwork_ctrs(s, a, n_viewers)["personalised"] for s in validation_seeds]))
    strength = max(STRENGTHS, key=lambda k: np.mean([row_ctrs(s, k, n_viewers)["learned"] for s in validation_seeds]))
    log(f"chosen on validation seeds {list(validation_seeds)}: LinUCB alpha {alpha}, row prior strength {strength}")
    art = [artwork_ctrs(s, alpha, n_viewers) for s in seeds]
    rows = [row_ctrs(s, strength, n_viewers) for s in seeds]

    def summary(values):
        values = np.asarray(values, float)
        half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else 0.0
        return {"ctr": round(float(values.mean()), 4), "ci95": [round(float(values.mean() - half), 4),
                                                                round(float(values.mean() + half), 4)]}

    def ratio(a, b, key_a, key_b):
        out = summary([x[key_a] / x[key_b] for x in a] if b is None else [x[key_a] / y[key_b] for x, y in zip(a, b)])
        return {"x": out["ctr"], "ci95": out["ci95"]}

    return {"artwork": {name: summary([a[name] for a in art]) for name in ("personalised", "best_fixed", "random")},
            "row_order": {"learned": {**summary([r["learned"] for r in rows]),
                                      "reached": summary([r["learned_reached"] for r in rows])["ctr"]},
                          "fixed": {**summary([r["fixed"] for r in rows]),
                                    "reached": summary([r["fixed_reached"] for r in rows])["ctr"]}},
            "lift": {"artwork_vs_best_fixed": ratio(art, None, "personalised", "best_fixed"),
                     "rows_learned_vs_fixed": ratio(rows, None, "learned", "fixed")},
            "meta": {"seeds": list(seeds), "viewers": n_viewers, "validation_seeds": list(validation_seeds), "alpha": alpha,
                     "row_strength": strength, "method": "artwork: IPS; row order: replay (Li et al. 2011)"}}
