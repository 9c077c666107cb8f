"""The package's shape: no module imports another that imports it back, and a method file stays readable."""

import ast
import json
import re
from pathlib import Path

import fewshot_lab

PACKAGE = Path(fewshot_lab.__file__).resolve().parent


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Every module of the package -> the package's modules it imports, at the top or inside a function."""
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module)
                imported |= {f"{node.module}.{alias.name}" for alias in node.names}  # a submodule, if it is one
        graph[name] = {target for target in imported if target in modules and target != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm): each is an import circle."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while not component or component[-1] != node:
                component.append(stack.pop())
                on_stack.discard(component[-1])
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_of_the_package_imports_one_that_imports_it_back():
    graph = import_graph()
    assert "fewshot_lab.evaluation" in graph["fewshot_lab.learner"]  # the graph sees the package's imports
    assert cycles(graph) == []


def test_every_method_file_opens_with_a_docstring_and_stays_short():
    for path in (PACKAGE / "methods").glob("*.py"):
        if path.name == "__init__.py":
            continue
        text = path.read_text()
        assert len(text.splitlines()) <= 250, path.name
        assert ast.get_docstring(ast.parse(text)), f"{path.name} opens with no docstring naming its paper"


def notebook_imports() -> dict[str, set[str]]:
    """Every notebook -> the package's modules its code cells import from."""
    imported = {}
    for notebook in (PACKAGE.parent / "notebooks").glob("*.ipynb"):
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        source = "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "code")
        imported[notebook.stem] = set(re.findall(r"^from (fewshot_lab[\w.]*) import", source, re.MULTILINE))
    return imported


def test_notebook_support_is_a_module_per_section_and_a_shared_module_serves_several():
    """fewshot_lab/lessons: a notebook imports its own section's module (7.5 -> s75) and shared ones, never another
    section's; a notebook outside the sections has a module of its name (compare, teach_it -> teach); a shared module
    serves at least two importers (else it belongs in the one notebook that uses it)."""
    lessons = {module_name(path) for path in (PACKAGE / "lessons").glob("*.py")} - {"fewshot_lab.lessons"}
    notebooks = notebook_imports()
    for notebook, modules in notebooks.items():
        sections = {module for module in modules & lessons if module.rsplit(".", 1)[1].startswith("s7")}
        own = "fewshot_lab.lessons.s" + notebook.split("_")[0].replace(".", "")
        assert sections <= {own}, f"{notebook} imports another section's module: {sorted(sections)}"
    users = {module: set() for module in lessons}
    for importer, modules in [*import_graph().items(), *notebooks.items()]:
        for module in modules & lessons:
            users[module].add(importer)
    own = {"fewshot_lab.lessons." + notebook.split("_")[0] for notebook in notebooks if not notebook[0].isdigit()}
    for module in lessons - own:
        if not module.rsplit(".", 1)[1].startswith("s7"):
            assert len(users[module]) >= 2, f"{module} serves {sorted(users[module])} only: move it there"
