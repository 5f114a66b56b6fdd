"""Notebook hygiene: what every chapter must satisfy before it is executed.

The notebooks themselves are executed by nbval (pytest collects chapters/*.ipynb)
and by the strict book build.
"""

from __future__ import annotations

import ast
import json
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
BOOTSTRAP = (ROOT / "tools" / "bootstrap_cell.py").read_text().strip()
ids = [p.name for p in CHAPTERS]


def toc_files(toc: dict) -> list[str]:
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [entry["file"] for entry in part["chapters"]]
    return files


def load(path: pathlib.Path) -> dict:
    return json.loads(path.read_text())


def test_there_are_chapters():
    assert CHAPTERS, "no notebooks under chapters/"


def test_every_chapter_is_in_the_toc_and_every_toc_entry_exists(toc):
    listed = toc_files(toc)
    for nb in CHAPTERS:
        assert f"chapters/{nb.stem}" in listed, f"{nb.name} is not in _toc.yml"
    for entry in listed:
        matches = [ROOT / f"{entry}{ext}" for ext in (".ipynb", ".md")]
        assert any(m.is_file() for m in matches), f"_toc.yml lists {entry}, which does not exist"


def test_toc_has_the_three_numbered_parts_in_order(toc):
    captions = [p["caption"] for p in toc["parts"] if p.get("numbered")]
    expected = ["Foundations", "Gradient descent", "Beyond gradient descent"]
    assert captions == expected[: len(captions)]
    assert captions, "no numbered part"


def test_chapter_files_are_numbered_in_toc_order(toc):
    numbered_parts = [part for part in toc["parts"] if part.get("numbered")]
    chapters = [entry["file"] for part in numbered_parts for entry in part["chapters"]]
    assert all(f.startswith("chapters/") for f in chapters)
    numbers = [int(re.match(r"chapters/(\d\d)-", f).group(1)) for f in chapters]
    assert numbers == sorted(numbers)


@pytest.mark.parametrize("path", CHAPTERS, ids=ids)
def test_committed_without_outputs(path):
    for i, cell in enumerate(load(path)["cells"]):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"cell {i} has stored outputs"
            assert cell["execution_count"] is None, f"cell {i} has an execution count"
    assert "widgets" not in load(path)["metadata"], "stored widget state"


@pytest.mark.parametrize("path", CHAPTERS, ids=ids)
def test_kernelspec_is_python3(path):
    assert load(path)["metadata"]["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", CHAPTERS, ids=ids)
def test_bootstrap_cell_is_first_and_hidden(path):
    first = load(path)["cells"][0]
    assert first["cell_type"] == "code"
    assert "".join(first["source"]).strip() == BOOTSTRAP
    assert "remove-cell" in first["metadata"].get("tags", [])


def test_bootstrap_url_matches_config(config):
    url = re.search(r'"COURSE_REPO_URL", "([^"]+)"', BOOTSTRAP).group(1)
    assert url == config["repository"]["url"]


@pytest.mark.parametrize("path", CHAPTERS, ids=ids)
def test_never_installs_numpy_or_torch(path):
    for cell in load(path)["cells"]:
        source = "".join(cell["source"])
        assert not re.search(r"pip install[^\n]*\b(numpy|torch)\b", source)


@pytest.mark.parametrize("path", CHAPTERS, ids=ids)
def test_at_least_three_exercises_each_with_a_solution(path):
    text = "\n".join("".join(c["source"]) for c in load(path)["cells"] if c["cell_type"] == "markdown")
    exercises = re.findall(r"```\{exercise\}[^\n]*\n:label: ([\w-]+)", text)
    solutions = re.findall(r"```\{solution\} ([\w-]+)", text)
    assert len(exercises) >= 3, f"{len(exercises)} exercises"
    assert set(exercises) <= set(solutions), f"exercises without solutions: {set(exercises) - set(solutions)}"


@pytest.mark.parametrize("path", CHAPTERS, ids=ids)
def test_starts_with_a_title_and_has_check_cells(path):
    cells = load(path)["cells"]
    assert cells[1]["cell_type"] == "markdown"
    assert "".join(cells[1]["source"]).startswith("# ")
    checks = [c for c in cells[1:] if c["cell_type"] == "code" and "remove-cell" in c["metadata"].get("tags", [])]
    assert checks, "no hidden check cell"
    assert all("assert" in "".join(c["source"]) for c in checks), "a hidden cell that asserts nothing"


def test_back_matter_pages_are_unnumbered_and_named_for_what_they_hold(toc):
    back = [part for part in toc["parts"] if part["caption"] == "Back matter"]
    assert len(back) == 1
    assert not back[0].get("numbered")
    for entry in back[0]["chapters"]:
        assert not re.match(r"chapters/\d", entry["file"]), entry["file"]
    files = [entry["file"] for entry in back[0]["chapters"]]
    assert files.index("chapters/maths-you-need") < files.index("notation")


def test_exercise_labels_are_unique_across_the_book():
    labels = []
    for path in CHAPTERS:
        text = "\n".join("".join(c["source"]) for c in load(path)["cells"])
        labels += re.findall(r":label: ([\w-]+)", text)
    assert len(labels) == len(set(labels))


EXPLORER_CALL = re.compile(r"\binteractive\(|\binteract\(|\b\w*explorer\(")


@pytest.mark.parametrize("path", CHAPTERS, ids=ids)
def test_every_explorer_is_tagged_for_the_shared_note(path):
    """The site puts its one 'live explorer' note before cells tagged ``explorer`` (see _ext/page_fixes.py)."""
    cells = load(path)["cells"]
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        tags = cell["metadata"].get("tags", [])
        source = "".join(cell["source"])
        builds = bool(EXPLORER_CALL.search(source)) and "remove-cell" not in tags
        assert builds == ("explorer" in tags), f"{path.name} {cell.get('id')}: explorer tag and explorer call disagree"
    text = "".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown")
    assert "In a live notebook" not in text, f"{path.name} repeats the shared note"


@pytest.mark.parametrize("path", [*CHAPTERS, ROOT / "chapters" / "13-further-study.md"], ids=lambda p: p.stem)
def test_every_chapter_links_the_notation_page(path):
    assert "](../notation.md)" in path.read_text(), f"{path.name} does not link the notation page"


PRIVATE = re.compile(r"^_(?!_)")  # _name, but not a dunder such as __version__


def private_torch_names(source: str) -> list[str]:
    """Private names (a leading underscore) that ``source`` takes from torch.

    Text anywhere (code cells, code in the prose): ``from torch... import _x`` and
    ``torch.<...>._x``. Code cells, parsed: the same through an alias, e.g.
    ``from torch.optim import sgd`` and then ``sgd._x``.
    """
    found = re.findall(r"\btorch(?:\.\w+)*\.(_(?!_)\w*)", source)
    for names in re.findall(r"\bfrom\s+torch(?:\.\w+)*\s+import\s+(\([^)]*\)|[^\n]*)", source):
        found += [name for name in re.findall(r"\w+", names) if PRIVATE.match(name)]
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:  # prose, or code that is not Python
        return found
    torch_names = {"torch"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            module = node.module if isinstance(node, ast.ImportFrom) else None
            for alias in node.names:
                if (module or alias.name).split(".")[0] == "torch":
                    torch_names.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and PRIVATE.match(node.attr):
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in torch_names:
                found.append(node.attr)
    return found


def test_private_torch_names_are_found():
    assert private_torch_names("from torch.optim.sgd import _helper") == ["_helper"]
    assert private_torch_names("from torch.optim.sgd import (\n    SGD,\n    _helper,\n)") == ["_helper"]
    assert private_torch_names("t = torch.optim.sgd._helper(f, x)")
    assert private_torch_names("from torch.optim import sgd as s\ns._helper(1, 2)") == ["_helper"]
    assert private_torch_names("import torch._dynamo")
    assert not private_torch_names("import torch\nprint(torch.__version__, torch.optim.LBFGS)")
    assert not private_torch_names("from lib.second_order import strong_wolfe\nx._private = 1")


@pytest.mark.parametrize("path", CHAPTERS, ids=ids)
def test_uses_no_private_torch_name(path):
    # private names may change or vanish between the torch releases learners run
    for i, cell in enumerate(load(path)["cells"]):
        found = private_torch_names("".join(cell["source"]))
        assert not found, f"cell {i} uses torch's private {found}"
