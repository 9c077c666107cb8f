"""Every widget of every notebook, worked in a real browser: each notebook runs top to bottom with every number of
its parameters cell cut to 4 at most (a smoke budget: its controls need the objects the cells make, not good ones;
nbval runs the notebooks with their own parameters), then each slider is moved, each button clicked and each dropdown
changed, and what the cell shows must change with no traceback."""

import json
import re
from pathlib import Path

import pytest

from tests.browser import exercise_widgets, serve

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(path.name for path in (ROOT / "notebooks").glob("*.ipynb"))


def smoke_budget(notebook: dict) -> dict:
    """The notebook with every whole number of its parameters cell cut to 4 at most (4 steps, 4 test tasks, ...)."""
    for cell in notebook["cells"]:
        if "parameters" in cell["metadata"].get("tags", []):
            source = "".join(cell["source"])
            cell["source"] = re.sub(
                r"^([A-Z_]+ = )(\d+)(?=\s|$)", lambda match: f"{match[1]}{min(4, int(match[2]))}", source, flags=re.M
            )
    return notebook


WITHOUT_CONTROLS = {"compare.ipynb"}  # reads results/ and draws them: nothing to turn


@pytest.fixture(scope="module")
def lab(tmp_path_factory, omniglot_small_dataset):
    """The notebooks served beside results/; omniglot-small is in the session's cache, where 7.6 finds it."""
    notebooks = {
        f"notebooks/{name}": smoke_budget(json.loads((ROOT / "notebooks" / name).read_text())) for name in NOTEBOOKS
    }
    with serve(tmp_path_factory, notebooks, links={"results": ROOT / "results"}) as served:
        yield served


def test_the_smoke_budget_cuts_each_parameter_to_four_at_most():
    parameters = {"metadata": {"tags": ["parameters"]}, "source": "STEPS = 750  # full: 2500\nK = 3\nRATE = 10.5"}
    cut = smoke_budget({"cells": [parameters]})
    assert cut["cells"][0]["source"] == "STEPS = 4  # full: 2500\nK = 3\nRATE = 10.5"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_control_of_the_notebook_changes_what_it_shows(lab_page, name):
    server, page = lab_page
    server.open(page, f"notebooks/{name}")
    server.run_all(page, seconds=300)
    assert server.errors(page) == []
    worked = exercise_widgets(page)
    assert bool(worked) == (name not in WITHOUT_CONTROLS), f"{name}: controls worked: {worked}"
