"""Fetching a data archive once, verifying it, and never leaving a half-written file behind.

A dataset archive is identified by its file name, its size in bytes and its md5 checksum. `download`
returns the verified archive from the local folder if it is already there; otherwise it streams it from
the upstream Omniglot repository, or from the mirror named by $FEWSHOT_LAB_MIRROR (an http://, https://
or file:// URL of a folder holding the same file names, for machines without internet access).

The bytes go to a temporary file beside the destination and are moved into place only after the byte
count and the md5 both match, so an interrupted or corrupted transfer leaves nothing in the folder and
the next call simply starts again.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.parse
import urllib.request
import warnings
from pathlib import Path

from tqdm.auto import tqdm

from fewshot_lab.paths import atomic_path

UPSTREAM = "https://raw.githubusercontent.com/brendenlake/omniglot/master/python"
MIRROR_VARIABLE = "FEWSHOT_LAB_MIRROR"
MIRROR_SCHEMES = ("http", "https", "file")
TIMEOUT_SECONDS = 30
CHUNK_BYTES = 1 << 16


class DownloadError(OSError):
    """A download that failed; the message says why and what to do, and nothing was saved."""


def mirror_base() -> str:
    """The base URL archives are fetched from: $FEWSHOT_LAB_MIRROR if set, else the upstream repository."""
    base = os.environ.get(MIRROR_VARIABLE) or UPSTREAM
    scheme = urllib.parse.urlsplit(base).scheme
    if scheme not in MIRROR_SCHEMES:
        raise ValueError(
            f"{MIRROR_VARIABLE} must be an http://, https:// or file:// URL of a folder holding the "
            f"archives, got {base!r} (for a local folder use file:///absolute/path/to/folder)"
        )
    return base.rstrip("/")


def archive_url(filename: str) -> str:
    return f"{mirror_base()}/{filename}"


def file_md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def is_verified(path: Path, md5: str, size: int) -> bool:
    """Whether `path` exists with exactly the expected size and md5 (the size is checked first: it is free)."""
    return path.is_file() and path.stat().st_size == size and file_md5(path) == md5


def download(filename: str, md5: str, size: int, folder: Path) -> Path:
    """Return `folder / filename`, verified against `size` and `md5`, fetching it first if needed.

    A file already there with the right size and md5 is returned without any request; one that fails
    verification (damaged on disk) is removed and fetched again. Raises DownloadError, with nothing
    written to `folder`, when the transfer fails, stops early or delivers the wrong bytes.
    """
    destination = Path(folder) / filename
    if destination.exists():
        if is_verified(destination, md5, size):
            return destination
        warnings.warn(
            f"{destination} does not match its expected size and md5 (damaged on disk?); "
            f"removing it and downloading it again",
            stacklevel=2,
        )
        destination.unlink()
    url = archive_url(filename)
    with atomic_path(destination) as temporary:
        actual_md5 = _fetch(url, filename, size, temporary)
        if actual_md5 != md5:
            raise DownloadError(
                f"download of {filename} from {url} has md5 {actual_md5}, expected {md5}; "
                f"the file was not kept. {_mirror_hint()}"
            )
    return destination


def _fetch(url: str, filename: str, size: int, temporary: Path) -> str:
    """Stream `url` into `temporary` with a progress bar; check the byte count and return the md5."""
    response = _open(url, filename)
    digest = hashlib.md5(usedforsecurity=False)
    received = 0
    with (
        response,
        open(temporary, "wb") as handle,
        tqdm(total=size, unit="B", unit_scale=True, unit_divisor=1024, desc=filename) as progress,
    ):
        # read one byte past the expected size, so that a longer (wrong) file is noticed
        while received <= size:
            try:
                chunk = response.read(min(CHUNK_BYTES, size + 1 - received))
            except (OSError, http.client.HTTPException) as error:
                raise DownloadError(_stopped_message(filename, url, received, size)) from error
            if not chunk:
                break
            handle.write(chunk)
            digest.update(chunk)
            received += len(chunk)
            progress.update(len(chunk))
    if received < size:
        raise DownloadError(_stopped_message(filename, url, received, size))
    if received > size:
        raise DownloadError(
            f"download of {filename} from {url} sent more than the expected {size} bytes, so it is "
            f"not the expected file; nothing was saved. {_mirror_hint()}"
        )
    return digest.hexdigest()


def _open(url: str, filename: str):
    """Start the request, turning every way it can fail into a DownloadError that names the URL and the reason."""
    try:
        return urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS)
    except urllib.error.HTTPError as error:
        error.close()  # an HTTP error still carries an open response
        raise DownloadError(_unreachable_message(filename, url, f"HTTP {error.code} {error.reason}")) from error
    except (OSError, http.client.HTTPException) as error:
        raise DownloadError(_unreachable_message(filename, url, _reason(error))) from error


def _reason(error: Exception) -> str:
    if isinstance(error, urllib.error.URLError):
        return str(error.reason)
    return str(error) or type(error).__name__


def _stopped_message(filename: str, url: str, received: int, size: int) -> str:
    return (
        f"download of {filename} from {url} stopped after {received} of {size} bytes; nothing was saved. "
        f"Run it again to retry."
    )


def _unreachable_message(filename: str, url: str, reason: str) -> str:
    return (
        f"could not download {filename} from {url}: {reason}. Check the address and the network connection; "
        f"on a machine without internet access, copy the archives into a folder and set "
        f"{MIRROR_VARIABLE}=file:///path/to/that/folder (or to an http:// URL serving it)."
    )


def _mirror_hint() -> str:
    mirror = os.environ.get(MIRROR_VARIABLE)
    if mirror:
        return f"{MIRROR_VARIABLE} is set to {mirror!r}: check that it holds the original, unmodified archives."
    return "Run it again to retry; if it keeps failing, the upstream file may have changed."
