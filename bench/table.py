"""The tables of docs/benchmarks.md, made from the JSON results of `bench closeout --out`.

`python -m bench table docs/bench-results/*.json` prints, as Markdown: each phase's
seconds and ratio to the floor per database and size, the imports' rate, memory, and
how the time per line grew from the smallest book to the largest of each database.
"""

from __future__ import annotations

from bench.plot import PHASES

DB_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def _row(label: str, cells: list[str]) -> str:
    return f"| {label} | " + " | ".join(cells) + " |"


def tables(results: list[dict]) -> str:
    results = sorted(results, key=lambda r: (r["db"] != "sqlite", r["lines"]))
    head = [f"{DB_NAMES.get(r['db'], r['db'])} {r['lines']:,}" for r in results]
    out = [_row("phase: seconds (ratio to the floor)", head), "|---|" + "---:|" * len(results)]
    out.append(_row("floor: rows, seconds", [f"{r['floor']['rows']:,}, {r['floor']['seconds']}" for r in results]))
    for name in PHASES:
        cells = []
        for r in results:
            p = r["phases"].get(name)
            cells.append("-" if p is None else f"{p['seconds']:.1f} ({p['ratio']})" if p["seconds"] >= 1 else
                         f"{p['seconds']:.2f} ({p['ratio']})")
        out.append(_row(name, cells))
    out.append(_row("document lines imported", [f"{r['phases']['import']['document_lines']:,}" for r in results]))
    out.append(_row("imports, document lines/s", [f"{r['import_lines_per_second']:,}" for r in results]))
    out.append(_row("lines closed, memorial entries", [f"{r['closeout_lines']:,}, {r['closeout_entries']:,}" for r in results]))
    out.append(_row("peak RSS MB: close-out (trial, run, undo)", [str(r["closeout_peak_rss_mb"]) for r in results]))
    out.append(_row("peak RSS MB: imports", [str(r["phases"]["import"]["peak_rss_mb"]) for r in results]))
    out.append(_row("peak RSS MB: any phase", [str(r["peak_rss_mb"]) for r in results]))
    out.append(_row("`check`", [r["check"] for r in results]))
    growth = []
    for db in dict.fromkeys(r["db"] for r in results):
        mine = [r for r in results if r["db"] == db]
        small, large = mine[0], mine[-1]
        if small is large:
            continue
        changes = []
        for name in PHASES:
            if name in small["phases"] and name in large["phases"]:
                before = small["phases"][name]["seconds"] / small["lines"]
                after = large["phases"][name]["seconds"] / large["lines"]
                changes.append(f"{name} {(after / before - 1) * 100:+.0f} %")
        growth.append(f"- {DB_NAMES.get(db, db)}, {small['lines']:,} -> {large['lines']:,} lines, time per line: "
                      + ", ".join(changes))
    if growth:
        out += ["", *growth]
    return "\n".join(out)
