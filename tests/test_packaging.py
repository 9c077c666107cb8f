"""Set-up promises: one dependency list for pip and conda, a light import, a working CLI."""

import json
import re
import subprocess
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.split(r"[=<>!~ \[]", requirement.strip(), maxsplit=1)[0].lower()


def test_environment_yml_and_pyproject_name_the_same_packages():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip_names = {_name(r) for r in project["dependencies"]}
    for extra in project["optional-dependencies"].values():
        pip_names |= {_name(r) for r in extra}
    conda_names, pins = set(), {}
    listing = (ROOT / "environment.yml").read_text().split("dependencies:", 1)[1]
    for line in listing.splitlines():
        entry = line.strip()
        if entry.startswith("- ") and not entry.endswith(":"):
            requirement = entry[2:].strip()
            if requirement.startswith("-e") or _name(requirement) in ("python", "pip"):
                continue
            conda_names.add(_name(requirement))
            pins[_name(requirement)] = requirement
    assert conda_names == pip_names
    torch_pin = [r for r in project["dependencies"] if _name(r) == "torch"]
    assert torch_pin == ["torch==2.13.0"] and pins["torch"] == "torch==2.13.0"
    assert "torchvision" not in pip_names


def test_import_is_light():
    code = (
        "import sys, fewshot_lab; "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'matplotlib'))))"
    )
    loaded = subprocess.run([sys.executable, "-c", "import json; " + code], capture_output=True, text=True, check=True)
    assert json.loads(loaded.stdout) == []


def test_cli_lists_datasets_with_cache_state(tmp_path):
    env = {"FEWSHOT_LAB_DATA": str(tmp_path), "PATH": "", "HOME": str(tmp_path)}
    run = subprocess.run(
        [sys.executable, "-m", "fewshot_lab", "datasets", "--json"], capture_output=True, text=True, check=True, env=env
    )
    rows = {row["name"]: row for row in json.loads(run.stdout)}
    assert set(rows) == {"babi-1", "babi-2", "copy", "glyphs", "omniglot", "omniglot-small", "sinusoid"}
    assert rows["glyphs"]["cached"] is False
    assert all(rows[name]["cached"] is None for name in ("sinusoid", "copy", "babi-1", "babi-2"))
    table = subprocess.run(
        [sys.executable, "-m", "fewshot_lab", "datasets"], capture_output=True, text=True, check=True, env=env
    ).stdout
    assert "omniglot-small" in table and "not cached" in table


def test_cli_without_a_command_prints_help():
    run = subprocess.run([sys.executable, "-m", "fewshot_lab"], capture_output=True, text=True)
    assert run.returncode == 2 and "datasets" in run.stdout


def test_every_help_text_renders_its_percent_signs_once():
    import argparse

    from fewshot_lab.cli import build_parser

    parser = build_parser()
    commands = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))
    for name, command in {"": parser, **commands.choices}.items():
        text = command.format_help()
        assert "%%" not in text and "%(" not in text, name
