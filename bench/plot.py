"""The plot for docs/benchmarks.md: seconds per order line against N, per phase and database.

Made from the JSON results `python -m bench closeout --lines N --out FILE.json` writes
(one or more per size and database: several runs are merged into their medians), log-log,
one line per phase, solid for SQLite and dashed for PostgreSQL. Needs matplotlib (`pip install -e '.[bench]'`).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

PHASES = ("import", "trial", "run", "undo", "check", "report_xlsx", "report_pdf")


def plot(results: list[dict], output: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bench.table import merge

    series: dict[tuple[str, str], list[tuple[int, float]]] = defaultdict(list)
    for r in merge(results):
        for name, p in r["phases"].items():
            series[(r["db"], name)].append((r["lines"], p["seconds"] / r["lines"] * 1e6))
    fig, ax = plt.subplots(figsize=(9, 5.5), dpi=120)
    colours = dict(zip(PHASES, ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")))
    for (db, name), points in sorted(series.items(), key=lambda kv: (kv[0][0], PHASES.index(kv[0][1]) if kv[0][1] in PHASES else 99)):
        points.sort()
        xs, ys = zip(*points)
        ax.plot(xs, ys, marker="o", linestyle="-" if db == "sqlite" else "--", color=colours.get(name, "grey"),
                label=f"{name} ({'SQLite' if db == 'sqlite' else 'PostgreSQL'})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("order lines in the book (N)")
    ax.set_ylabel("microseconds per order line")
    ax.set_title("pledger close-out cycle: time per order line against N\n(solid: SQLite, dashed: PostgreSQL)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output)
    plt.close(fig)
