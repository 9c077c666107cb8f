"""download(): fetch once, verify, and leave nothing half-written whatever goes wrong."""

from __future__ import annotations

import hashlib
import socket

import pytest

from fewshot_lab.data.download import UPSTREAM, DownloadError, archive_url, download

NAME = "images_background_small1.zip"
SIZE = 1319022
MD5 = "e704a628b5459e08445c13499850abc4"


def fetch(folder):
    return download(NAME, MD5, SIZE, folder)


def flip_bytes(path):
    """Corrupt a file in place, keeping its size."""
    data = bytearray(path.read_bytes())
    data[1000:1100] = bytes(255 - byte for byte in data[1000:1100])
    path.write_bytes(bytes(data))


def test_downloads_once_then_uses_the_verified_file(omniglot_server, omniglot_source, tmp_path):
    folder = tmp_path / "archives"
    path = fetch(folder)
    assert path == folder / NAME
    assert path.read_bytes() == (omniglot_source / NAME).read_bytes()
    assert omniglot_server.requests == [f"/{NAME}"]
    assert fetch(folder) == path
    assert len(omniglot_server.requests) == 1
    assert sorted(folder.iterdir()) == [path]


def test_checksum_mismatch_keeps_nothing_and_a_later_call_succeeds(omniglot_server, omniglot_source, tmp_path):
    flip_bytes(omniglot_server.folder / NAME)
    actual_md5 = hashlib.md5((omniglot_server.folder / NAME).read_bytes()).hexdigest()
    folder = tmp_path / "archives"
    with pytest.raises(DownloadError) as raised:
        fetch(folder)
    message = str(raised.value)
    assert MD5 in message and actual_md5 in message and "not kept" in message
    assert "FEWSHOT_LAB_MIRROR" in message and omniglot_server.url in message
    assert list(folder.iterdir()) == []

    (omniglot_server.folder / NAME).write_bytes((omniglot_source / NAME).read_bytes())
    assert fetch(folder).read_bytes() == (omniglot_source / NAME).read_bytes()


def test_interrupted_transfer_saves_nothing_and_the_next_call_starts_clean(omniglot_server, tmp_path):
    omniglot_server.cut_short = True
    folder = tmp_path / "archives"
    with pytest.raises(DownloadError) as raised:
        fetch(folder)
    url = f"{omniglot_server.url}/{NAME}"
    assert str(raised.value) == (
        f"download of {NAME} from {url} stopped after {SIZE // 2} of {SIZE} bytes; "
        f"nothing was saved. Run it again to retry."
    )
    assert list(folder.iterdir()) == []

    omniglot_server.cut_short = False
    assert fetch(folder).stat().st_size == SIZE
    assert len(omniglot_server.requests) == 2


def test_a_longer_file_is_rejected(omniglot_server, tmp_path):
    folder = tmp_path / "archives"
    with pytest.raises(DownloadError, match="more than the expected 1000 bytes"):
        download(NAME, MD5, 1000, folder)
    assert list(folder.iterdir()) == []


def test_http_error_names_the_url_and_the_reason(omniglot_server, tmp_path):
    folder = tmp_path / "archives"
    with pytest.raises(DownloadError) as raised:
        download("missing.zip", MD5, SIZE, folder)
    message = str(raised.value)
    assert f"{omniglot_server.url}/missing.zip" in message and "404" in message
    assert "FEWSHOT_LAB_MIRROR" in message
    assert list(folder.iterdir()) == []


def test_unreachable_server_points_to_the_mirror_variable(fewshot_data, monkeypatch, tmp_path):
    with socket.socket() as probe:  # a port that was free a moment ago, now closed: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("FEWSHOT_LAB_MIRROR", f"http://127.0.0.1:{port}")
    with pytest.raises(DownloadError) as raised:
        fetch(tmp_path / "archives")
    message = str(raised.value)
    assert f"http://127.0.0.1:{port}/{NAME}" in message and "FEWSHOT_LAB_MIRROR" in message
    assert not (tmp_path / "archives" / NAME).exists()


def test_a_file_mirror_works(fewshot_data, omniglot_source, monkeypatch, tmp_path):
    monkeypatch.setenv("FEWSHOT_LAB_MIRROR", omniglot_source.as_uri())
    assert fetch(tmp_path / "archives").read_bytes() == (omniglot_source / NAME).read_bytes()


def test_a_missing_file_in_a_file_mirror_is_a_clear_error(fewshot_data, monkeypatch, tmp_path):
    monkeypatch.setenv("FEWSHOT_LAB_MIRROR", tmp_path.as_uri())
    with pytest.raises(DownloadError, match="No such file"):
        fetch(tmp_path / "archives")


@pytest.mark.parametrize("mirror", ["ftp://x", "/some/folder", "mirror.example.org/omniglot"])
def test_a_mirror_that_is_not_a_url_is_rejected(fewshot_data, monkeypatch, tmp_path, mirror):
    monkeypatch.setenv("FEWSHOT_LAB_MIRROR", mirror)
    with pytest.raises(ValueError, match="FEWSHOT_LAB_MIRROR"):
        fetch(tmp_path / "archives")
    assert not (tmp_path / "archives").exists()


def test_without_a_mirror_archives_come_from_upstream(fewshot_data):
    assert archive_url(NAME) == f"{UPSTREAM}/{NAME}"


def test_a_damaged_cached_archive_is_downloaded_again(omniglot_server, omniglot_source, tmp_path):
    folder = tmp_path / "archives"
    path = fetch(folder)
    flip_bytes(path)
    with pytest.warns(UserWarning, match="downloading it again"):
        assert fetch(folder) == path
    assert path.read_bytes() == (omniglot_source / NAME).read_bytes()
    assert len(omniglot_server.requests) == 2
