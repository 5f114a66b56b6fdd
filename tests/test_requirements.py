"""requirements.txt pins every direct dependency, constraints.txt the rest, and the environment agrees."""

import pathlib
import re
import subprocess
import sys
from importlib.metadata import version

from packaging.version import Version

ROOT = pathlib.Path(__file__).resolve().parent.parent


def pinned(filename: str) -> dict[str, str]:
    """``{name: version}`` of a requirements file in which every line pins with ``==``."""
    found = {}
    for line in (ROOT / filename).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            match = re.fullmatch(r"([A-Za-z0-9_.-]+)==([\w.+-]+)", line)
            assert match, f"{filename}: not pinned with ==: {line!r}"
            found[match.group(1)] = match.group(2)
    return found


def pins() -> dict[str, str]:
    return pinned("requirements.txt")


def test_every_requirement_is_pinned_and_the_core_is_present():
    found = pins()
    assert found["torch"] == "2.13.0"
    assert Version(found["jupyter-book"]) >= Version("1.0.4.post1")
    assert Version(found["jupyter-book"]) < Version("2")
    for core in ("numpy", "matplotlib", "ipywidgets", "nbval", "sphinx-exercise"):
        assert core in found


def test_installed_versions_match_the_pins():
    for name, pinned in pins().items():
        installed = Version(version(name))
        assert installed.public == Version(pinned).public, f"{name}: installed {installed}, pinned {pinned}"


def test_pip_check_passes():
    result = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def constraints() -> dict[str, str]:
    return {canonical(name): held for name, held in pinned("constraints.txt").items()}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_constraints_agree_with_the_requirements():
    locked = constraints()
    for name, pinned in pins().items():
        held = locked.get(canonical(name))
        assert held == pinned, f"{name}: requirements.txt has {pinned}, constraints.txt {held}"
