"""Browser tests' shared pieces: Chromium found on this machine, and a JupyterLab server on the loopback address.

Playwright (pip) drives a Chromium that is already installed (Debian's `chromium` package here; `playwright
install` is not used). JupyterLab runs from this environment with its notebook windowing off, so every cell is
rendered and can be found, and with the application exposed to the page, so a test runs cells by JupyterLab's own
commands (`notebook:run-all-cells`).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium_path() -> str | None:
    """$FEWSHOT_LAB_CHROMIUM, or the first Chromium on the PATH."""
    named = os.environ.get("FEWSHOT_LAB_CHROMIUM")
    if named:
        return named
    return next((found for found in map(shutil.which, CHROMIUM_NAMES) if found), None)


def require_browser() -> str:
    """The Chromium to drive, or the test is skipped with a reason that the summary line shows."""
    pytest.importorskip("playwright", reason="browser tests need playwright (pip install -e '.[test]')")
    path = chromium_path()
    if path is None:
        pytest.skip(
            "browser tests need Chromium: none found on the PATH (apt-get install chromium, or set "
            "FEWSHOT_LAB_CHROMIUM to its binary)"
        )
    return path


def notebook(*sources: str) -> dict:
    """A notebook of code cells with these sources, not yet run."""
    cells = [
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": source}
        for source in sources
    ]
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return {"cells": cells, "metadata": {"kernelspec": kernel}, "nbformat": 4, "nbformat_minor": 5}


@contextmanager
def serve(
    tmp_path_factory, notebooks: dict[str, dict], links: dict[str, Path] | None = None
) -> Iterator[tuple[JupyterLab, str]]:
    """JupyterLab serving these notebooks (path in the served folder -> notebook) from a new folder, with `links`
    (path in the folder -> what it points at) beside them, and the Chromium to drive; the test is skipped where
    there is none."""
    chromium = require_browser()
    root = tmp_path_factory.mktemp("lab")
    for name, content in notebooks.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(json.dumps(content))
    for name, target in (links or {}).items():
        (root / name).symlink_to(target)
    server = JupyterLab(root, tmp_path_factory.mktemp("settings"), root / "jupyter.log")
    try:
        yield server, chromium
    finally:
        server.close()


@contextmanager
def browser_page(chromium: str):
    """A page of a fresh Chromium, closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            yield browser.new_page(viewport={"width": 1200, "height": 900})
        finally:
            browser.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class JupyterLab:
    """A JupyterLab server on 127.0.0.1 serving `root`, stopped by close()."""

    def __init__(self, root: Path, settings: Path, log: Path):
        self.token = secrets.token_hex(16)
        self.port = _free_port()
        for extension, values in {
            "notebook-extension/tracker": {"windowingMode": "none"},  # render every cell, in view or not
            "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},  # no news pop-up
        }.items():
            path = settings / "@jupyterlab" / f"{extension}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        command = [
            *(sys.executable, "-m", "jupyter", "lab", "--no-browser"),
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={root}",
            f"--LabApp.user_settings_dir={settings}",
            f"--LabApp.workspaces_dir={settings / 'workspaces'}",
            "--LabApp.expose_app_in_browser=True",
            *(["--allow-root"] if os.geteuid() == 0 else []),  # a container's root user
        ]
        environment = {**os.environ, "JUPYTER_RUNTIME_DIR": str(settings / "runtime")}  # nothing left in ~
        self._log = log.open("w")
        self._process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT, cwd=root, env=environment)
        self._wait_until_up(log)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _wait_until_up(self, log: Path, seconds: float = 90) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self._process.returncode}:\n{log.read_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2):
                    return
            except OSError:
                time.sleep(0.3)
        self.close()
        raise RuntimeError(f"JupyterLab did not answer within {seconds:g} s:\n{log.read_text()}")

    def open(self, page, notebook: str) -> None:
        """Open a notebook in the page and wait until its kernel is idle."""
        page.goto(f"{self.url}/lab/tree/{notebook}?token={self.token}&reset")
        page.wait_for_selector(".jp-Notebook", timeout=60_000)
        self.wait_until_idle(page)

    @staticmethod
    def wait_until_idle(page, seconds: float = 120) -> None:
        page.wait_for_function(f"() => ({_KERNEL_STATUS})() === 'idle'", timeout=seconds * 1000)

    @classmethod
    def run_all(cls, page, seconds: float = 120) -> None:
        """Run every cell of the open notebook by JupyterLab's own command; it returns once the last has run."""
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        cls.wait_until_idle(page, seconds)

    @staticmethod
    def errors(page) -> list[str]:
        """The text of every error output (a traceback) shown in the page."""
        return (
            page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
            .filter(has_text="Traceback")
            .all_inner_texts()
        )

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._log.close()


# Controls the lessons use, as ipywidgets 8 draws them, and how a person works each one.
# Worked in this order, each cell's buttons before its dropdowns: a button often repeats what a dropdown's change
# already did (the demo's "what is this?" answers the same drawing again, to the same words and figure), while a
# dropdown worked after a button still changes what the cell shows
CONTROLS = {
    "slider": ".widget-slider .noUi-handle",
    "toggle": ".widget-toggle-buttons button.jupyter-button:not(.mod-active)",
    "checkbox": ".widget-checkbox input[type=checkbox]",
    "button": ".widget-button, button.jupyter-button:not(.widget-toggle-button)",
    "dropdown": ".widget-dropdown select",
}
_KERNEL_STATUS = "() => window.jupyterapp?.shell.currentWidget?.sessionContext?.session?.kernel?.status"
# What a person sees of a cell apart from its controls (whose own look changes when worked): printed text, HTML
# and labels, pictures, drawn figures
_SEEN = """cell => {
    const copy = cell.querySelector('.jp-Cell-outputArea').cloneNode(true);
    copy.querySelectorAll('.widget-slider, .widget-dropdown, .widget-button, .widget-toggle-buttons, .widget-checkbox')
        .forEach(control => control.remove());
    return copy.innerHTML;
}"""


def _work(page, kind: str, control) -> bool:
    """Work the control as a person would; False where there is nothing to do (a dropdown of one choice)."""
    if kind == "slider":
        control.focus()
        page.keyboard.press("ArrowRight")  # one step up, as a keyboard or a drag would
    elif kind == "dropdown":
        values = control.locator("option").evaluate_all("options => options.map(option => option.value)")
        others = [value for value in values if value != control.input_value()]
        if not others:
            return False
        control.select_option(value=others[0])
    else:  # a checkbox, a button, or a toggle button not yet chosen
        control.click()
    return True


def exercise_widgets(page, seconds: float = 60) -> list[str]:
    """Work every control of the open notebook once (each slider moved a step, each button clicked, each dropdown
    and toggle changed, each checkbox ticked) and assert that each changes what its cell shows besides the
    control itself, and that no traceback appears. Returns what was worked, as "cell N: kind 'label'"."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    worked = []
    cells = page.locator(".jp-Notebook .jp-Cell")
    for index in range(cells.count()):
        cell = cells.nth(index)
        for kind, selector in CONTROLS.items():
            count = cell.locator(selector).count()
            for number in range(min(count, 1) if kind == "toggle" else count):  # one other choice of a toggle
                control = cell.locator(selector).nth(number)
                label = (control.get_attribute("title") or control.inner_text() or "").strip() or kind
                before = cell.evaluate(_SEEN)
                if not _work(page, kind, control):
                    continue
                try:
                    page.wait_for_function(
                        "([cell, before]) => (" + _SEEN + ")(cell) !== before",
                        arg=[cell.element_handle(), before],
                        timeout=seconds * 1000,
                    )
                except PlaywrightTimeout as error:
                    kernel = page.evaluate(_KERNEL_STATUS)
                    shown = " ".join(cell.locator(".jp-Cell-outputArea").inner_text().split())[:300]
                    raise AssertionError(
                        f"cell {index}: working the {kind} {label!r} changed nothing visible in {seconds:g} s "
                        f"(kernel {kernel}; the cell shows: {shown!r})"
                    ) from error
                JupyterLab.wait_until_idle(page, seconds)
                errors = JupyterLab.errors(page)
                assert not errors, f"cell {index}: the {kind} {label!r} raised:\n{errors[0]}"
                worked.append(f"cell {index}: {kind} {label!r}")
    return worked


def draw(page, canvas, points):
    """One stroke through `points` in [0, 1] x [0, 1] of the canvas, with the mouse button held down."""
    canvas.evaluate("element => element.scrollIntoView({block: 'center'})")  # the mouse reaches only what is in view
    box = canvas.bounding_box()
    at = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in points]
    page.mouse.move(*at[0])
    page.mouse.down()
    for x, y in at[1:]:
        page.mouse.move(x, y, steps=5)
    page.mouse.up()
