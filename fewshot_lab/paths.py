"""Where data is cached, and how files are written so that nothing half-written is ever left behind."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator


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
    """
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.", suffix=".part")
    os.close(handle)
    temporary = Path(temporary)
    try:
        yield temporary
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes files private; give the usual permissions
        os.replace(temporary, destination)
    finally:
        temporary.unlink(missing_ok=True)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
