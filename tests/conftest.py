"""Shared test fixtures.

Omniglot fixtures: the tests fetch the small Omniglot archives through the package's own download code,
from a real HTTP server on the loopback address, exactly as a user's code would (with $FEWSHOT_LAB_MIRROR
pointing at it); the archives come from the shared data folder beside the repository.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from pathlib import Path

import pytest

OMNIGLOT_SOURCE = Path(__file__).resolve().parents[2] / "shared" / "data" / "omniglot"
SMALL_ARCHIVES = ("images_background_small1.zip", "images_background_small2.zip")


class _ArchiveHandler(http.server.SimpleHTTPRequestHandler):
    timeout = 10  # seconds a silent client may hold a server thread

    def __init__(self, archive_server: ArchiveServer, *args, **kwargs):
        self.archive_server = archive_server
        super().__init__(*args, **kwargs)

    def do_GET(self):
        self.archive_server.requests.append(self.path)
        if self.archive_server.cut_short:
            self._send_first_half()
        else:
            super().do_GET()

    def _send_first_half(self):
        """Promise the whole file in Content-Length, then hang up halfway: an interrupted transfer."""
        body = Path(self.translate_path(self.path)).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, format, *args):
        pass


class ArchiveServer:
    """A real HTTP server on 127.0.0.1 (a free port) serving the files of `folder`.

    `requests` lists the path of every GET it received; set `cut_short = True` to make every transfer
    stop after half the promised bytes.
    """

    def __init__(self, folder: Path):
        self.folder = folder
        self.requests: list[str] = []
        self.cut_short = False
        handler = functools.partial(_ArchiveHandler, self, directory=str(folder))
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def close(self):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def omniglot_source() -> Path:
    """The shared folder holding the two small Omniglot archives (skips the test if it is absent)."""
    if not all((OMNIGLOT_SOURCE / name).is_file() for name in SMALL_ARCHIVES):
        pytest.skip(f"the small Omniglot archives are not in {OMNIGLOT_SOURCE}")
    return OMNIGLOT_SOURCE


@pytest.fixture
def fewshot_data(tmp_path, monkeypatch) -> Path:
    """An empty cache folder as $FEWSHOT_LAB_DATA, and no mirror configured."""
    folder = tmp_path / "fewshot_lab_data"
    monkeypatch.setenv("FEWSHOT_LAB_DATA", str(folder))
    monkeypatch.delenv("FEWSHOT_LAB_MIRROR", raising=False)
    return folder


@pytest.fixture
def omniglot_server(omniglot_source, fewshot_data, tmp_path, monkeypatch):
    """A local HTTP server holding copies of the small archives, set as $FEWSHOT_LAB_MIRROR."""
    served = tmp_path / "served"
    served.mkdir()
    for name in SMALL_ARCHIVES:
        shutil.copyfile(omniglot_source / name, served / name)
    server = ArchiveServer(served)
    monkeypatch.setenv("FEWSHOT_LAB_MIRROR", server.url)
    yield server
    server.close()


# Session-wide data: one cache folder for the whole run (the notebooks' kernels inherit it too, so they
# reuse the glyphs generated here), and the real datasets loaded once, the way a user loads them.


def pytest_configure(config):
    import os
    import tempfile

    if "FEWSHOT_LAB_TEST_DATA" not in os.environ:
        os.environ["FEWSHOT_LAB_TEST_DATA"] = tempfile.mkdtemp(prefix="fewshot_lab_tests_")
    if "PYTEST_XDIST_WORKER" in os.environ:  # a folder per pytest-xdist worker: each downloads and caches its own
        worker_data = os.path.join(os.environ["FEWSHOT_LAB_TEST_DATA"], os.environ["PYTEST_XDIST_WORKER"])
        os.makedirs(worker_data, exist_ok=True)
        os.environ["FEWSHOT_LAB_TEST_DATA"] = worker_data
    os.environ["FEWSHOT_LAB_DATA"] = os.environ["FEWSHOT_LAB_TEST_DATA"]
    os.environ.pop("FEWSHOT_LAB_MIRROR", None)
    # matplotlib's font cache is per user and can point at fonts of another, deleted environment; then
    # figures with mathtext (log-axis ticks) print findfont warnings that nbval records. Build a fresh
    # cache for this session here, so the notebooks' kernels inherit a clean one and print nothing.
    os.environ["MPLCONFIGDIR"] = tempfile.mkdtemp(prefix="fewshot_lab_matplotlib_")
    import matplotlib.font_manager

    matplotlib.use("Agg")  # the tests draw figures without a display
    # Under pytest-xdist each worker process takes a core: one torch thread per worker, and per notebook kernel
    # it starts (they inherit OMP_NUM_THREADS), keeps the workers from oversubscribing the cores.
    if "PYTEST_XDIST_WORKER" in os.environ:
        import torch

        os.environ["OMP_NUM_THREADS"] = "1"
        torch.set_num_threads(1)


@pytest.fixture
def lab_page(lab):
    """The test module's JupyterLab (its own `lab` fixture: tests/browser.py's serve) and a fresh Chromium page."""
    from tests.browser import browser_page

    server, chromium = lab
    with browser_page(chromium) as page:
        yield server, page


@pytest.fixture
def close_figures():
    """Close every matplotlib figure the test drew (the notebooks' figures are drawn, checked and dropped)."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.fixture(scope="session")
def glyphs_dataset():
    from fewshot_lab.data import load_dataset

    return load_dataset("glyphs")


@functools.cache
def fetch_omniglot_small():
    """omniglot-small fetched through the download code from a loopback server serving copies (in the session's
    test data folder) of the shared archives, once per session; None when the shared archives are absent."""
    import os

    from fewshot_lab.data import list_datasets, load_dataset

    if not all((OMNIGLOT_SOURCE / name).is_file() for name in SMALL_ARCHIVES):
        return None
    cached = next(row["cached"] for row in list_datasets() if row["name"] == "omniglot-small")
    served = Path(os.environ["FEWSHOT_LAB_TEST_DATA"]) / "omniglot_mirror" / "served"
    served.mkdir(parents=True, exist_ok=True)
    for name in SMALL_ARCHIVES:
        shutil.copyfile(OMNIGLOT_SOURCE / name, served / name)
    server = ArchiveServer(served)
    os.environ["FEWSHOT_LAB_MIRROR"] = server.url
    try:
        dataset = load_dataset("omniglot-small")
    finally:
        os.environ.pop("FEWSHOT_LAB_MIRROR", None)
        server.close()
    assert cached or server.requests, "omniglot-small should have been downloaded from the loopback server"
    return dataset


def _loads_omniglot(notebook: Path) -> bool:
    import json

    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return any(
        'load_dataset("omniglot-small")' in "".join(cell["source"]) for cell in cells if cell["cell_type"] == "code"
    )


def _longest_first(items):
    """The notebooks, then the modules holding a test marked slow, then the rest (each module's tests kept in
    order): pytest-xdist, told not to reorder (pyproject's --no-loadscope-reorder), hands the workers the longest
    units first, so the short modules at the end fill the gaps instead of one worker finishing a notebook alone."""
    slow = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: 0 if item.path.suffix == ".ipynb" else 1 if item.path in slow else 2)


def pytest_collection_modifyitems(session, config, items):
    """The longest tests are handed out first; and a notebook that loads omniglot-small finds it in the session's
    cache, whichever test runs first: its kernel inherits $FEWSHOT_LAB_DATA but not the loopback mirror."""
    _longest_first(items)
    notebooks = {Path(item.path) for item in items if str(item.path).endswith(".ipynb")}
    if any(_loads_omniglot(notebook) for notebook in notebooks):
        fetch_omniglot_small()


@pytest.fixture(scope="session")
def omniglot_small_dataset():
    """omniglot-small fetched through the download code from a loopback server, once per session."""
    dataset = fetch_omniglot_small()
    if dataset is None:
        pytest.skip(f"the small Omniglot archives are not in {OMNIGLOT_SOURCE}")
    return dataset


@pytest.fixture(params=["glyphs", "omniglot-small"])
def real_dataset(request):
    return request.getfixturevalue(
        {"glyphs": "glyphs_dataset", "omniglot-small": "omniglot_small_dataset"}[request.param]
    )
