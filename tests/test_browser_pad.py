"""The drawing pad in a real browser: JupyterLab on the loopback address, Chromium driven by Playwright, strokes
drawn with mouse movements."""

import pytest

from tests.browser import draw, notebook, serve

PAD = 'from fewshot_lab.pad import DrawingPad\n\npad = DrawingPad(["circle", "cross"])\npad'


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    with serve(tmp_path_factory, {"pad.ipynb": notebook(PAD)}) as served:
        yield served


def test_a_stroke_drawn_in_the_browser_reaches_the_kernel_and_comes_back_as_a_thumbnail(lab_page):
    server, page = lab_page
    server.open(page, "pad.ipynb")
    server.run_all(page)
    canvas = page.locator(".fsl-pad-canvas")
    canvas.wait_for(timeout=60_000)
    message = page.locator(".fsl-pad-message")

    page.get_by_role("button", name="add to cross").click()  # nothing drawn yet: refused, in words
    page.wait_for_function(
        "() => document.querySelector('.fsl-pad-message').textContent.includes('the pad is empty')", timeout=30_000
    )
    assert page.locator(".fsl-pad-class img").count() == 0

    draw(page, canvas, [(0.2, 0.2), (0.5, 0.8), (0.8, 0.2)])
    draw(page, canvas, [(0.2, 0.5), (0.8, 0.5)])
    page.get_by_role("button", name="undo").click()  # the second stroke goes
    page.get_by_role("button", name="add to circle").click()
    thumbnail = page.locator(".fsl-pad-class img[alt='circle']")
    thumbnail.wait_for(timeout=30_000)  # rendered by the kernel from the strokes it was sent
    assert page.locator(".fsl-pad-class").filter(has_text="circle (1)").count() == 1
    assert message.inner_text().strip() == ""
    assert page.get_by_role("button", name="undo").is_disabled()  # the pad was cleared
    assert server.errors(page) == []
