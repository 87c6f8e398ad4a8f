"""Files written whole or not at all: a report, an edit sheet, a saved trial.

The file is written under a temporary name beside its target (`.NAME.PID.RANDOM.tmp`, so
that it is on the same disk and the move is one rename) and moved into place when it is
complete. Whatever stops the writing, an error of the disk or an interruption (Ctrl-C,
SIGTERM, which the CLI turns into KeyboardInterrupt), the temporary file is removed and
the target stays as it was.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from pathlib import Path
from typing import Callable


def same_file(a, b) -> bool:
    """Whether two paths name one file: the same file where both exist (a link, another
    spelling of the folder), else the same path once made absolute."""
    try:
        if os.path.samefile(a, b):
            return True
    except OSError:
        pass
    return Path(os.path.abspath(a)) == Path(os.path.abspath(b))


def new_temporary(target: Path) -> Path:
    """A new empty file beside `target`, named to be recognised as pledger's and not clash
    (`.NAME.PID.RANDOM.tmp`); OSError if it cannot be made there. A path of no name ('.',
    '/') is a folder: refused as writing onto any other folder is (pathlib's ValueError,
    "has an empty name", was said as "internal error")."""
    if not target.name:
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(target))
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    return tmp


def write_whole(path: str | os.PathLike, write: Callable[[str], object], *,
                new: Callable[[Path], Path] = new_temporary) -> None:
    """Have `write(name)` write the file under a temporary name (made by `new`), then move
    it to `path`. Whatever stops it, an OSError (the disk's) or anything else, an
    interruption included, is raised as it came, after the temporary file is removed."""
    target = Path(path)
    tmp = None
    try:
        tmp = new(target)
        write(str(tmp))
        os.replace(tmp, target)
    except BaseException:
        if tmp is not None:
            remove_quietly(tmp)
        raise


def remove_quietly(path: str | os.PathLike) -> None:
    """Remove a file if it is there; a file that cannot be removed is left."""
    try:
        os.unlink(path)
    except OSError:
        pass


def not_a_file(path: str | os.PathLike) -> str | None:
    """Why `path` cannot be read as pledger reads the files it is given, or None (a file, a
    folder, or nothing there: its reader says what is wrong). A pipe or a device (`<(unzip -p
    ...)`, /dev/stdin from a terminal) gives its bytes once, and pledger reads a file more
    than once: a progress bar's count, a pass over a column, the rows, the import log's hash,
    and all again when the database gives up on a transaction (`app.run_in_transaction`)."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return (f"cannot read {path}: it is a pipe or a device, not a file (pledger reads a file more than once): "
            f"save it to a file and give that")
