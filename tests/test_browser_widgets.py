"""Every widget of every notebook, worked in a real browser: each control changes what the learner sees, and no
traceback appears."""

import pytest

from tests.browser import exercise_widgets, notebook, serve

CONTROLS = """import ipywidgets as widgets
from IPython.display import display

out = widgets.Output()
slider = widgets.IntSlider(3, min=0, max=9, description="n", continuous_update=False)
choice = widgets.Dropdown(options=["a", "b"], description="choice")
split = widgets.ToggleButtons(options=["train", "test"])
tick = widgets.Checkbox(False, description="tick")
go = widgets.Button(description="go")


def show(*_):
    with out:
        out.clear_output(wait=True)
        print(slider.value, choice.value, split.value, tick.value, go.tooltip)


def pressed(_):
    go.tooltip = (go.tooltip or "") + "!"
    show()


for control in (slider, choice, split, tick):
    control.observe(show, "value")
go.on_click(pressed)
show()
display(widgets.VBox([slider, choice, split, tick, go, out]))"""
SILENT = """import ipywidgets as widgets

widgets.Button(description="does nothing")"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    with serve(tmp_path_factory, {"controls.ipynb": notebook(CONTROLS), "silent.ipynb": notebook(SILENT)}) as served:
        yield served


def test_the_exerciser_works_every_kind_of_control_and_sees_each_change(lab_page):
    server, page = lab_page
    server.open(page, "controls.ipynb")
    server.run_all(page)
    page.locator(".widget-button").wait_for(timeout=60_000)
    worked = exercise_widgets(page)
    assert [line.split(":")[1].split()[0] for line in worked] == ["slider", "toggle", "checkbox", "button", "dropdown"]


def test_a_control_that_changes_nothing_visible_is_a_defect(lab_page):
    server, page = lab_page
    server.open(page, "silent.ipynb")
    server.run_all(page)
    page.locator(".widget-button").wait_for(timeout=60_000)
    with pytest.raises(AssertionError, match="cell 0: working the button 'does nothing' changed nothing visible"):
        exercise_widgets(page, seconds=3)
