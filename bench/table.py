"""The tables of docs/benchmarks.md, made from the JSON results of `bench closeout --out`.

`python -m bench table docs/bench-results/*.json` prints, as Markdown: each phase's
seconds and ratio to the floor per database and size, the schema and driver floors, the imports' rate, memory, and
how the time per line grew from the smallest book to the largest of each database.
Several runs of one database and size are merged into their medians (`merge`).
"""

from __future__ import annotations

from statistics import median

from bench.growth import growth as per_line_growth
from bench.plot import PHASES

DB_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def _row(label: str, cells: list[str]) -> str:
    return f"| {label} | " + " | ".join(cells) + " |"


def merge(results: list[dict]) -> list[dict]:
    """One result per database and size: the median seconds of each phase and of the floor
    over the runs given (the rows are the same in every run of a size), ratios and the
    imports' rate worked out again from those medians, the highest peak memory of any run."""
    groups: dict[tuple[str, int], list[dict]] = {}
    for r in results:
        groups.setdefault((r["db"], r["lines"]), []).append(r)
    merged = []
    for (db, lines), runs in sorted(groups.items(), key=lambda kv: (kv[0][0] != "sqlite", kv[0][1])):
        first = runs[0]
        floor = {"rows": first["floor"]["rows"], "seconds": round(median(r["floor"]["seconds"] for r in runs), 3)}
        per_row = floor["seconds"] / floor["rows"]
        phases = {}
        for name, p in first["phases"].items():
            seconds = round(median(r["phases"][name]["seconds"] for r in runs), 3)
            phases[name] = dict(p, seconds=seconds, peak_rss_mb=max(r["phases"][name]["peak_rss_mb"] for r in runs),
                                ratio=round(seconds / (per_row * p["rows"]), 2) if p["rows"] else None)
        replays = {}
        for kind in REPLAYS:
            measured = [r[kind] for r in runs if r.get(kind)]
            replays[kind] = dict(measured[0], seconds=round(median(x["seconds"] for x in measured), 3)) if measured else None
        merged.append(dict(first, floor=floor, **replays, phases=phases, runs=len(runs),
                           peak_rss_mb=max(r["peak_rss_mb"] for r in runs),
                           closeout_peak_rss_mb=max(r["closeout_peak_rss_mb"] for r in runs),
                           import_lines_per_second=round(phases["import"]["document_lines"] / phases["import"]["seconds"]),
                           check="passed" if all(r["check"] == "passed" for r in runs) else "FAILED"))
    return merged


REPLAYS = {"schema_floor": "schema floor", "driver_floor": "driver floor", "references_floor": "floor with references"}
"""The run's writes replayed (`bench.floor`): by the database alone, and sent by the driver; and the
floor with references (as many rows as two-line entries into tables with foreign keys)."""


def _replay(result: dict, kind: str) -> str:
    """A replay's seconds, as a multiple of the floor, and the run's seconds over it."""
    replay = result.get(kind)
    if not replay:
        return "-"
    return (f"{replay['seconds']} ({replay['seconds'] / result['floor']['seconds']:.1f} x; "
            f"{result['phases']['run']['seconds'] / replay['seconds']:.1f})")


def tables(results: list[dict]) -> str:
    results = merge(results)
    head = [f"{DB_NAMES.get(r['db'], r['db'])} {r['lines']:,}" for r in results]
    out = [_row("phase: seconds (ratio to the floor)", head), "|---|" + "---:|" * len(results)]
    out.append(_row("runs (medians of)", [str(r["runs"]) for r in results]))
    out.append(_row("floor: rows, seconds", [f"{r['floor']['rows']:,}, {r['floor']['seconds']}" for r in results]))
    for kind, name in REPLAYS.items():
        out.append(_row(f"{name}: seconds (x the floor; the run / it)", [_replay(r, kind) for r in results]))
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
                change = per_line_growth(small["phases"][name]["seconds"], small["lines"],
                                         large["phases"][name]["seconds"], large["lines"])
                changes.append(f"{name} {change * 100:+.0f} %")
        growth.append(f"- {DB_NAMES.get(db, db)}, {small['lines']:,} -> {large['lines']:,} lines, time per line: "
                      + ", ".join(changes))
    if growth:
        out += ["", *growth]
    return "\n".join(out)
