"""`tagger evaluate coldstart`'s tables: item cold start side by side with intervals, then new users."""
from __future__ import annotations

import numpy as np

from tagger.recommend.evaluate.coldstart import REFERENCE, TOP_K


def print_table(results: dict, console=None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    columns = [(name, label) for name, label in (
        ("item_cold", "random split"), ("item_cold_temporal", "temporal"),
        ("item_cold_temporal_recent", "temporal, recent releases"),
        ("item_cold_temporal_before", "temporal, trained before cutoff"),
        ("item_cold_temporal_before_recent", "same, recent releases")) if name in results]
    if columns:
        table = Table(title=f"Item cold start: Recall@20 / AUC [95% interval of the Recall@20 difference to "
                            f"{REFERENCE}] (mean over seeds {results['meta']['seeds']})")
        table.add_column("method")
        for name, label in columns:
            table.add_column(label, justify="right")
        first = results[columns[0][0]]
        methods = sorted({m for name, _ in columns for m in results[name]},
                         key=lambda m: -first.get(m, {}).get(f"recall@{TOP_K}", 0.0))
        for method in methods:
            cells = []
            for name, _ in columns:
                r = results[name].get(method)
                if r is None:
                    cells.append("-")
                    continue
                cell = f"{r[f'recall@{TOP_K}']:.3f} / {r['auc']:.3f}"
                if "ci95_vs_tfidf" in r:
                    cell += " [{:+.3f}, {:+.3f}]".format(*r["ci95_vs_tfidf"])
                cells.append(cell)
            table.add_row(method, *cells)
        console.print(table)
        for key, value in results["meta"].items():
            if key.startswith("temporal_"):
                console.print(f"{key}: cutoff {value['cutoff']}, {value['new_titles']} new titles "
                              f"({value['new_titles_recent']} released {value['cutoff_year']} or later), "
                              f"{value['users']} users ({value['users_recent']} with a recent one)")
    users = results.get("new_user")
    if not users:
        return
    table = Table(title="New users revealing their first k positives: NDCG@20 (Recall@20)")
    table.add_column("method")
    for k in users:
        table.add_column(f"k={k}", justify="right")
    methods = sorted({m for per in users.values() for m in per},
                     key=lambda m: -np.mean([per[m]["ndcg@20"] for per in users.values() if m in per]))
    for method in methods:
        table.add_row(method, *(f"{users[k][method]['ndcg@20']:.3f} ({users[k][method]['recall@20']:.3f})"
                                if method in users[k] else "-" for k in users))
    console.print(table)
