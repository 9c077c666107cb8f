"""The class demo end to end in a real browser (notebooks/teach_it.ipynb): three shapes drawn with the mouse as
three classes, two drawings each, then a new drawing of one of them, answered by the shipped ProtoNet and, switched
in the menu, by Matching Networks.

FEWSHOT_LAB_SCREENSHOT=PATH also saves the page after the drawings as a PNG at PATH (the README's picture:
`FEWSHOT_LAB_SCREENSHOT=$PWD/notebooks/teach_it.png bash scripts/test.sh tests/test_browser_teach.py -n 0`).
"""

import json
import os
from pathlib import Path

import pytest

from fewshot_lab.pad import shape_strokes
from tests.browser import draw, serve

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "teach_it.ipynb"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    with serve(tmp_path_factory, {"teach_it.ipynb": json.loads(NOTEBOOK.read_text())}) as served:
        yield served


def shown(page, text: str, seconds: float = 60) -> None:
    """Wait until `text` is on the page."""
    page.get_by_text(text).first.wait_for(timeout=seconds * 1000)


def test_the_demo_learns_three_shapes_drawn_with_the_mouse(lab_page):
    from playwright.sync_api import expect

    server, page = lab_page
    server.open(page, "teach_it.ipynb")
    server.run_all(page)
    page.get_by_role("button", name="forget all drawings").click()  # the drawings made by code go
    shown(page, "All drawings forgotten")
    ask = page.get_by_role("button", name="what is this?")
    ask.click()
    shown(page, "add drawings to at least two classes first")  # refused in words: nothing to choose from

    canvas = page.locator(".fsl-pad-canvas")
    for shape in ("circle", "cross", "wave"):
        for centre, radius in (((0.5, 0.5), 0.3), ((0.45, 0.55), 0.25)):
            for stroke in shape_strokes(shape, centre, radius):
                draw(page, canvas, stroke)
            page.get_by_role("button", name=f"add to {shape}").click()
        expect(page.locator(f".fsl-pad-class img[alt='{shape}']")).to_have_count(2, timeout=30_000)

    ask.click()
    shown(page, "the pad is empty: draw a symbol first")  # an empty query is refused
    for stroke in shape_strokes("wave", (0.55, 0.45), 0.33):
        draw(page, canvas, stroke)
    ask.click()
    shown(page, "Prototypical Networks: it is a wave")
    page.locator(".widget-dropdown select").first.select_option("Matching Networks")  # the same drawings, re-answered
    shown(page, "Matching Networks: it is a wave")
    figure = page.locator("img.widget-image")  # and its figure, drawn: the learner's own, sent before the words
    expect(figure).to_be_visible(timeout=30_000)
    page.wait_for_function("image => image.complete && image.naturalWidth > 0", arg=figure.element_handle())
    assert server.errors(page) == []
    if os.environ.get("FEWSHOT_LAB_SCREENSHOT"):  # the demo's whole output, pad and answer, in a window tall enough
        page.set_viewport_size({"width": 1200, "height": 1800})
        demo = page.locator(".jp-Cell").filter(has=canvas).locator(".jp-Cell-outputArea")
        demo.scroll_into_view_if_needed()
        demo.screenshot(path=os.environ["FEWSHOT_LAB_SCREENSHOT"])
