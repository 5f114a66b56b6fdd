"""The Colab path, offline: a chapter opened alone clones the course and runs.

Colab opens a single notebook with no repository around it. We reproduce that:
the notebook is copied into an empty folder, a stub ``google.colab`` module
makes the bootstrap cell take its Colab branch, and ``COURSE_REPO_URL`` points
the clone at a local git repository holding the current working tree.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHAPTER = ROOT / "chapters" / "03-cost-functions.ipynb"


def snapshot_repository(dest: pathlib.Path) -> pathlib.Path:
    """A git repository with the working tree's tracked and untracked (not ignored) files."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    git = ["git", "-c", "user.name=course", "-c", "user.email=course@example.org"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=dest, check=True)
    subprocess.run([*git, "add", "-A"], cwd=dest, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "snapshot"], cwd=dest, check=True)
    return dest


@pytest.fixture
def colab(tmp_path, monkeypatch):
    repo = snapshot_repository(tmp_path / "origin")
    stub = tmp_path / "stub" / "google" / "colab"
    stub.mkdir(parents=True)
    (stub.parent / "__init__.py").write_text("")
    (stub / "__init__.py").write_text('"""Stand-in for Colab\'s own module."""\n')
    content = tmp_path / "content"
    content.mkdir()
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "stub"))
    monkeypatch.setenv("COURSE_REPO_URL", repo.as_uri())
    return content


def test_chapter_runs_alone_in_colab(colab):
    nb = nbformat.read(CHAPTER, as_version=4)
    # Prove that lib came from the fresh clone, not from this checkout.
    nb.cells.append(
        nbformat.v4.new_code_cell(
            "import lib, pathlib\n"
            "assert pathlib.Path(lib.__file__).resolve().is_relative_to(pathlib.Path.cwd() / 'optimization-for-ml')"
        )
    )
    (colab / CHAPTER.name).write_text(nbformat.writes(nb))
    env_before = os.environ.get("COURSE_REPO_URL")
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(colab)}}).execute()
    assert (colab / "optimization-for-ml" / "lib" / "__init__.py").is_file()
    assert env_before.startswith("file://")


def test_without_colab_the_bootstrap_needs_the_repository(tmp_path):
    """Outside Colab and outside the repository, the bootstrap cell fails loudly (no silent clone)."""
    nb = nbformat.read(CHAPTER, as_version=4)
    nb.cells = nb.cells[:1]
    client = NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    with pytest.raises(Exception, match="no course repository"):
        client.execute()
    assert not (tmp_path / "optimization-for-ml").exists()
