"""`python -m bench instructions PHASE`: the instructions a phase executes, counted by valgrind.

On a shared virtual machine the seconds of one run move by up to 2x within an hour, more
than most changes to the code do (docs/benchmarks.md, "Counting instructions instead of
seconds"). The instructions a process executes do not: the same code on the same book
executes the same count, whatever the machine's speed (two runs differed by 0.1 %). So a
change is measured here as the difference of two counts, each code on its own copy of one
book. callgrind is about 50x slower than the process alone: give it books of 10,000 lines.

The phase runs as `python -m bench phase` runs it (its own process; it changes the
database it is given, so give it a copy), under `valgrind --tool=callgrind` with a fixed
hash seed. The count of the process's start (the modules imported, the engine made: the
hidden phase `start`, which does nothing else) is taken off, so what is left is the
phase's own work.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

_COLLECTED = re.compile(r"^==\d+== Collected : (\d+)$", re.MULTILINE)
PHASES = ("import", "trial", "run", "undo", "check")


def collected(output: str) -> int:
    """The instructions callgrind reports at the end of its output ("==PID== Collected : N")."""
    found = _COLLECTED.findall(output)
    if not found:
        raise SystemExit(f"callgrind reported no count of instructions:\n{output[-2000:]}")
    return int(found[-1])


def count(command: list[str]) -> int:
    """The instructions of one phase's process (`bench.__main__.phase_command`), from this checkout."""
    from bench.__main__ import CHECKOUT

    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("valgrind is not installed: `python -m bench instructions` counts with its callgrind tool "
                         "(apt install valgrind)")
    done = subprocess.run([valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", *command],
                          capture_output=True, text=True, cwd=CHECKOUT, env={**os.environ, "PYTHONHASHSEED": "0"})
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed under valgrind:\n{done.stderr[-3000:]}")
    return collected(done.stderr)


def instructions(name: str, url: str, workdir: Path, closeout: int | None = None, details: bool = False,
                 files: bool = True) -> dict:
    """The phase's instructions, its whole process's and its start's (a run with details
    writes the report's files too, unless `files` is false)."""
    from bench.__main__ import phase_command

    if name not in PHASES:
        raise SystemExit(f"unknown phase {name}: one of {', '.join(PHASES)}")
    process = count(phase_command(name, url, workdir, closeout, details, files))
    start = count(phase_command("start", url, workdir))
    return {"phase": name, "instructions": process - start, "process": process, "start": start}
