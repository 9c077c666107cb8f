"""Where data is cached, and how files are written so that nothing half-written is ever left behind."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

TEMPORARY_SUFFIX = ".part"


def data_dir() -> Path:
    """The cache folder: $FEWSHOT_LAB_DATA, else $XDG_CACHE_HOME/fewshot_lab, else ~/.cache/fewshot_lab."""
    configured = os.environ.get("FEWSHOT_LAB_DATA")
    if configured:
        return Path(configured).expanduser()
    cache_home = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(cache_home) / "fewshot_lab"


@contextlib.contextmanager
def atomic_path(destination: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `destination`; move it into place only if the block succeeds.

    The temporary file lives in the same folder, so the final os.replace is atomic: readers see
    either the old file, no file, or the complete new one, and a failure removes the temporary.
    A process killed mid-write cannot remove its temporary; the next write to the same place does
    (see remove_stale_temporaries).
    """
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(destination)
    handle, temporary = tempfile.mkstemp(
        dir=destination.parent, prefix=f".{destination.name}.{os.getpid()}-", suffix=TEMPORARY_SUFFIX
    )
    os.close(handle)
    temporary = Path(temporary)
    try:
        yield temporary
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes files private; give the usual permissions
        os.replace(temporary, destination)
    finally:
        temporary.unlink(missing_ok=True)


def remove_stale_temporaries(destination: str | os.PathLike) -> list[Path]:
    """Remove the temporaries of `destination` (".<name>.<pid>-<random>.part") whose writing process is gone,
    e.g. killed mid-write, and those of an older naming without a process id; returns what was removed.
    A temporary of a process still running (another write to the same place, now) is left alone."""
    destination = Path(destination)
    removed = []
    if not destination.parent.is_dir():
        return removed
    prefix = f".{destination.name}."
    for candidate in destination.parent.iterdir():
        name = candidate.name
        if not (name.startswith(prefix) and name.endswith(TEMPORARY_SUFFIX)) or not candidate.is_file():
            continue
        # mkstemp's random part has no dots or dashes: a longer name is another destination's temporary
        match = re.fullmatch(r"(?:(\d+)-)?[a-z0-9_]+", name[len(prefix) : -len(TEMPORARY_SUFFIX)])
        if match is None or (match[1] is not None and _process_alive(int(match[1]))):
            continue
        candidate.unlink(missing_ok=True)
        removed.append(candidate)
    return removed


def _process_alive(pid: int) -> bool:
    if os.name != "posix":  # no signal 0 to ask with: never remove what may be another process's write
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, and another user's
        return True
    return True


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
