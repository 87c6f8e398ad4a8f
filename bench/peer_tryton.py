"""pledger against Tryton 8.2, in one run: N one-line orders received and invoiced.

Tryton's side: bench/tryton_flow.py in its own virtual environment (outside the
project's dependencies and outside CI), made when missing by pip-installing the pinned
Tryton 8.2 packages (default `.tryton-venv` beside the project, or $TRYTON_VENV).
pledger's side: `python -m bench flow` with the project's interpreter (`.venv`, else
the one running this). Both from a fresh SQLite database, one after the other on the
same machine; both check every journal entry balanced. Prints both JSON objects and
the ratios (Tryton's seconds over pledger's): of the flows, and of setup + flow.

    python3 bench/peer_tryton.py --orders 500 --batch 100
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import venv
from pathlib import Path

PACKAGES = [
    "trytond==8.2.*",
    "trytond_purchase==8.2.*",
    "trytond_account_invoice==8.2.*",
    "trytond_stock==8.2.*",
    "proteus==8.2.*",
]
PROJECT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("TRYTON_VENV", PROJECT / ".tryton-venv"))
FLOW = Path(__file__).resolve().with_name("tryton_flow.py")


def ensure_venv(path: Path) -> Path:
    python = path / "bin" / "python"
    if not python.exists():
        print(f"creating {path} with {' '.join(PACKAGES)}", file=sys.stderr, flush=True)
        venv.create(path, with_pip=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PACKAGES], check=True)
    return python


def last_json(args: list[str], cwd: Path | None = None) -> dict:
    proc = subprocess.run(args, stdout=subprocess.PIPE, text=True, cwd=cwd)
    if proc.returncode:
        raise SystemExit(f"{' '.join(args[:3])} ... exited with {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench/peer_tryton.py")
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args(argv)
    tryton = last_json([str(ensure_venv(VENV)), str(FLOW), "--orders", str(args.orders), "--batch", str(args.batch), "--json"])
    ours = PROJECT / ".venv" / "bin" / "python"
    pledger = last_json([str(ours if ours.exists() else sys.executable), "-m", "bench", "flow", "--orders", str(args.orders), "--json"],
                        cwd=PROJECT)
    flow = tryton["flow_seconds"] / pledger["flow_seconds"]
    total = (tryton["setup_seconds"] + tryton["flow_seconds"]) / (pledger["setup_seconds"] + pledger["flow_seconds"])
    print(json.dumps(tryton))
    print(json.dumps(pledger))
    print(f"{args.orders} one-line orders, received and invoiced, SQLite:")
    print(f"  Tryton {tryton['version']}: setup {tryton['setup_seconds']} s, flow {tryton['flow_seconds']} s "
          f"({tryton['account_moves']} moves, all balanced)")
    print(f"  pledger: setup {pledger['setup_seconds']} s, flow {pledger['flow_seconds']} s "
          f"({pledger['entries']} entries, all balanced, check passed)")
    print(f"  pledger is {flow:.0f} x faster on the flow, {total:.0f} x on setup + flow")
    print(json.dumps({"orders": args.orders, "batch": args.batch, "flow_ratio": round(flow, 1), "total_ratio": round(total, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
