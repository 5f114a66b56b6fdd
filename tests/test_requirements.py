"""What the course installs: two pinned requirement files, one lock, and an image with the first file only.

requirements.txt is what a learner needs to run the chapters (the Docker image installs it
alone); requirements-dev.txt adds the book build and the test tools; constraints.txt holds
every package either of them pulls in. The dependency walks below read the metadata of the
environment the tests run in, which `make` installs from those three files.
"""

from __future__ import annotations

import ast
import json
import pathlib
import re
import shlex
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, distribution, packages_distributions

from IPython.core.inputtransformer2 import TransformerManager
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = pathlib.Path(__file__).resolve().parent.parent
RUNTIME, DEV, LOCK = "requirements.txt", "requirements-dev.txt", "constraints.txt"


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned(filename: str) -> dict[str, str]:
    """``{canonical name: version}`` of a requirements file in which every line pins with ``==``."""
    found = {}
    for line in (ROOT / filename).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            match = re.fullmatch(r"([A-Za-z0-9_.-]+)==([\w.+-]+)", line)
            assert match, f"{filename}: not pinned with ==: {line!r}"
            found[canonical(match.group(1))] = match.group(2)
    return found


def installed_closure(names) -> dict[str, str]:
    """``{canonical name: installed version}`` of ``names`` and everything they require, recursively."""
    found: dict[str, str] = {}
    visited = set()
    todo = [(canonical(name), frozenset()) for name in names]
    while todo:
        name, extras = todo.pop()
        if (name, extras) in visited:
            continue
        visited.add((name, extras))
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            raise AssertionError(f"{name} is required but not installed") from None
        found[name] = dist.version
        for text in dist.requires or []:
            requirement = Requirement(text)
            marker = requirement.marker
            if marker is None or any(marker.evaluate({"extra": extra}) for extra in extras or {""}):
                todo.append((canonical(requirement.name), frozenset(requirement.extras)))
    return found


def test_every_requirement_is_locked_at_its_pin_and_named_once():
    runtime, dev, lock = pinned(RUNTIME), pinned(DEV), pinned(LOCK)
    assert not runtime.keys() & dev.keys(), f"in both files: {sorted(runtime.keys() & dev.keys())}"
    for filename, pins in ((RUNTIME, runtime), (DEV, dev)):
        for name, version in pins.items():
            assert lock.get(name) == version, f"{name}: {filename} has {version}, {LOCK} {lock.get(name)}"


def test_the_lock_holds_exactly_what_the_requirements_pull_in_at_the_installed_versions():
    lock = pinned(LOCK)
    needed = installed_closure([*pinned(RUNTIME), *pinned(DEV)])
    assert sorted(needed.keys() - lock.keys()) == [], f"installed but not locked in {LOCK}"
    assert sorted(lock.keys() - needed.keys()) == [], f"locked in {LOCK} but required by nothing"
    for name, installed in needed.items():
        assert Version(installed).public == Version(lock[name]).public, f"{name}: {installed}, locked {lock[name]}"


def test_pip_check_passes():
    result = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def image_pip_installs() -> list[dict[str, list[str]]]:
    """Each ``pip install`` the Dockerfile runs: its requirement files, constraint files and packages."""
    dockerfile = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    with_value = {"-r": "files", "--requirement": "files", "-c": "constraints", "--constraint": "constraints"}
    installs = []
    for line in dockerfile.splitlines():
        if not line.startswith("RUN "):
            continue
        for command in line.removeprefix("RUN ").split("&&"):
            words = shlex.split(command)
            start = next((i + 2 for i in range(len(words)) if words[i : i + 2] == ["pip", "install"]), None)
            if start is None:
                continue
            install = {"files": [], "constraints": [], "packages": []}
            args = iter(words[start:])
            for arg in args:
                if arg in with_value:
                    install[with_value[arg]].append(pathlib.Path(next(args)).name)
                elif arg in ("-i", "--index-url", "--extra-index-url", "-f", "--find-links"):
                    next(args)
                elif not arg.startswith("-"):
                    install["packages"].append(arg)
            installs.append(install)
    return installs


def test_the_image_installs_the_runtime_requirements_alone_under_the_lock():
    installs = image_pip_installs()
    files = [name for install in installs for name in install["files"]]
    assert files == [RUNTIME], f"the Dockerfile installs {files}, not {RUNTIME} alone"
    runtime = pinned(RUNTIME)
    for install in installs:
        if install["files"]:
            assert install["constraints"] == [LOCK], f"the Dockerfile installs {install['files']} without -c {LOCK}"
        for requirement in map(Requirement, install["packages"]):
            pin = runtime.get(canonical(requirement.name))
            assert str(requirement.specifier) == f"=={pin}", f"the image gets {requirement}, {RUNTIME} pins {pin}"


def catches_import_error(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(ast.unparse(kind) in ("ImportError", "ModuleNotFoundError", "Exception") for kind in types)


def optional_imports(tree: ast.AST) -> set[int]:
    """Ids of the nodes inside a ``try`` whose failure to import is caught (e.g. ``import google.colab``)."""
    optional = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(catches_import_error(handler) for handler in node.handlers):
            optional |= {id(inner) for statement in node.body for inner in ast.walk(statement)}
    return optional


def imported_modules(source: str) -> set[str]:
    """Top-level names of the modules ``source`` imports unconditionally (no relative imports)."""
    tree = ast.parse(source)
    optional = optional_imports(tree)
    found = set()
    for node in ast.walk(tree):
        if id(node) in optional:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def course_imports() -> dict[str, str]:
    """``{module: first file importing it}`` over every chapter's code cells and every module of ``lib``."""
    sources = []
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        cells = [cell for cell in json.loads(path.read_text())["cells"] if cell["cell_type"] == "code"]
        as_python = TransformerManager().transform_cell  # %magics and !commands become calls
        sources.append((path, "\n".join(as_python("".join(cell["source"])) for cell in cells)))
    sources += [(path, path.read_text()) for path in sorted((ROOT / "lib").rglob("*.py"))]
    found: dict[str, str] = {}
    for path, source in sources:
        for module in imported_modules(source) - set(sys.stdlib_module_names) - {"lib"}:
            found.setdefault(module, str(path.relative_to(ROOT)))
    return found


def test_what_the_chapters_and_lib_import_comes_with_the_runtime_requirements():
    runtime = installed_closure(pinned(RUNTIME))
    providers = packages_distributions()
    imports = course_imports()
    assert {"torch", "numpy", "matplotlib"} <= imports.keys(), "the import scan found nothing"
    for module, where in sorted(imports.items()):
        dists = {canonical(dist) for dist in providers.get(module, [])}
        assert dists & runtime.keys(), f"{where} imports {module}, which no package of {RUNTIME} installs ({dists})"
