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
from pathlib import Path
from typing import Callable


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
