"""Where a staff file (an export, a report) is written: an ordinary file, replaced only when whole."""
from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path
from typing import Iterator


class ExportTargetError(ValueError):
    """The --out path exists but is not an ordinary file (a folder, device, fifo or socket)."""


def export_target(out: Path) -> Path:
    """The file an export to `out` writes: symbolic links followed; refused unless it is missing
    or an ordinary file, since the export replaces it by renaming a finished file over it."""
    target = Path(os.path.realpath(out))
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        return target
    except OSError as error:  # e.g. a loop of symbolic links
        raise ExportTargetError(f"Cannot write {out}: {error.strerror or error}.") from None
    if not stat.S_ISREG(mode):
        raise ExportTargetError(f"Cannot write {out}: it is {_kind_of(mode)}, not an ordinary "
                                "file. Choose a file name for --out.")
    return target


def _kind_of(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


@contextlib.contextmanager
def written_beside(out: Path) -> Iterator[Path]:
    """A new file beside `out` for the block to write; when the block ends, it is renamed over
    `out` (the file the link points to, if `out` is a symbolic link), so a failed write (a full
    disk) leaves the last file whole and no part file behind. mkstemp makes it its owner's
    only, which suits answers quoted word for word."""
    target = export_target(out)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part",
                                         dir=str(target.parent))
    os.close(handle)
    try:
        yield Path(temporary)
        export_target(out)  # still an ordinary file (or none) just before replacing it
        os.replace(temporary, target)
    except BaseException:
        if os.path.lexists(temporary):
            os.unlink(temporary)
        raise
