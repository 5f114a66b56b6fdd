"""The book's configuration, the course map, and the execution-cache key."""

from __future__ import annotations

import os
import re

import pytest

from tools import cache_key


def test_repository_url_is_written_once(root, config):
    url = config["repository"]["url"]
    assert (root / "_config.yml").read_text().count(url) == 1
    for name in ("README.md", "intro.md", "Makefile", "Dockerfile"):
        assert url not in (root / name).read_text(), f"{name} repeats the repository URL"


def test_intro_maps_all_thirteen_chapters_and_links_those_that_exist(root, toc):
    intro = (root / "intro.md").read_text()
    numbered = re.findall(r"^(\d+)\. ", intro, re.MULTILINE)
    assert [int(n) for n in numbered] == list(range(1, 14))
    listed = [entry["file"] for part in toc["parts"] for entry in part["chapters"]]
    for entry in listed:
        if entry.startswith("chapters/"):
            assert re.search(rf"\]\({re.escape(entry)}\.(ipynb|md)\)", intro), f"intro.md does not link {entry}"
    for linked in re.findall(r"\]\((chapters/[\w-]+)\.(?:ipynb|md)\)", intro):
        assert linked in listed, f"intro.md links {linked}, which is not in _toc.yml"


@pytest.fixture
def fake_root(tmp_path, monkeypatch):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "__init__.py").write_text("")
    (tmp_path / "requirements.txt").write_text("numpy==2.0\n")
    (tmp_path / "requirements-dev.txt").write_text("pytest==9.0\n")
    (tmp_path / "constraints.txt").write_text("ipykernel==7.4.0\n")
    (tmp_path / "_ext").mkdir()
    (tmp_path / "_ext" / "parallel_execution.py").write_text("THREADS = 1\n")
    (tmp_path / "_ext" / "site_kernel.py").write_text("QUALITY = 85\n")
    (tmp_path / "_ext" / "text_sizes.py").write_text("KEY = 'a'\n")
    (tmp_path / "_ext" / "explorer_frames.py").write_text("NOTE = 'a'\n")
    (tmp_path / "_build" / ".jupyter_cache").mkdir(parents=True)
    monkeypatch.setattr(cache_key, "ROOT", tmp_path)
    monkeypatch.setattr(cache_key, "CACHE", tmp_path / "_build" / ".jupyter_cache")
    monkeypatch.setattr(cache_key, "KEY_FILE", tmp_path / "_build" / ".jupyter_cache.key")
    monkeypatch.setattr(cache_key, "QUIZ_KEYS", tmp_path / "_build" / ".jupyter_cache.quizzes.json")
    monkeypatch.setattr(cache_key, "DOCTREES", tmp_path / "_build" / ".doctrees")
    return tmp_path


def test_cache_is_cleared_when_lib_or_requirements_change(fake_root):
    cache = fake_root / "_build" / ".jupyter_cache"
    assert cache_key.refresh() is True  # no key yet: a cache of unknown origin is dropped
    cache.mkdir()
    assert cache_key.refresh() is False
    assert cache.exists()
    (fake_root / "lib" / "__init__.py").write_text("VALUE = 1\n")
    assert cache_key.refresh() is True
    assert not cache.exists()
    cache.mkdir()
    assert cache_key.refresh() is False
    (fake_root / "requirements.txt").write_text("numpy==2.1\n")
    assert cache_key.refresh() is True
    assert not cache.exists()
    cache.mkdir()
    (fake_root / "requirements-dev.txt").write_text("pytest==9.1\n")
    assert cache_key.refresh() is True
    assert not cache.exists()
    cache.mkdir()
    (fake_root / "constraints.txt").write_text("ipykernel==7.5.0\n")
    assert cache_key.refresh() is True
    assert not cache.exists()
    cache.mkdir()
    (fake_root / "_ext" / "parallel_execution.py").write_text("THREADS = 2\n")  # the kernels' environment
    assert cache_key.refresh() is True
    assert not cache.exists()
    cache.mkdir()
    (fake_root / "_ext" / "site_kernel.py").write_text("QUALITY = 90\n")  # how kernels draw explorers
    assert cache_key.refresh() is True
    assert not cache.exists()
    cache.mkdir()
    (fake_root / "_ext" / "text_sizes.py").write_text("KEY = 'b'\n")  # what the kernels record of each figure
    assert cache_key.refresh() is True
    assert not cache.exists()
    cache.mkdir()
    (fake_root / "_ext" / "explorer_frames.py").write_text("NOTE = 'b'\n")  # the Sphinx side: no re-execution
    assert cache_key.refresh() is False
    (fake_root / "lib" / "new_module.py").write_text("")
    assert cache_key.refresh() is True


def test_a_dropped_cache_makes_sphinx_read_every_page_again(fake_root):
    """Sphinx re-reads only sources newer than its saved state: that state goes with the cache."""
    doctrees = fake_root / "_build" / ".doctrees"
    cache_key.refresh()
    doctrees.mkdir()
    (doctrees / "environment.pickle").write_bytes(b"saved")
    assert cache_key.refresh() is False
    assert doctrees.exists()
    (fake_root / "lib" / "__init__.py").write_text("VALUE = 2\n")
    assert cache_key.refresh() is True
    assert not doctrees.exists()


def test_a_changed_quiz_file_drops_its_chapter_alone(fake_root):
    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    chapters, cache = fake_root / "chapters", fake_root / "_build" / ".jupyter_cache"
    (chapters / "quizzes").mkdir(parents=True)
    cache_key.refresh()
    notebooks = {}
    for name in ("01-one", "02-two"):
        notebooks[name] = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"print({name!r})")])
        nbformat.write(notebooks[name], chapters / f"{name}.ipynb")
        (chapters / "quizzes" / f"{name}.yaml").write_text("first: []\n")
    assert cache_key.refresh() is False
    for name, notebook in notebooks.items():
        bundle = CacheBundleIn(notebook, str(chapters / f"{name}.ipynb"))
        get_cache(cache).cache_notebook_bundle(bundle, check_validity=False)

    def cached():
        return {name for name, notebook in notebooks.items() if _is_cached(get_cache(cache), notebook)}

    assert cache_key.refresh() is False
    assert cached() == {"01-one", "02-two"}
    for name in notebooks:
        os.utime(chapters / f"{name}.ipynb", (1_000_000_000, 1_000_000_000))
    (chapters / "quizzes" / "02-two.yaml").write_text("second: []\n")
    assert cache_key.refresh() is False
    assert cached() == {"01-one"}
    # Sphinx reads the dropped chapter again (its notebook is newer than what it read), not the other
    assert (chapters / "02-two.ipynb").stat().st_mtime > 1_000_000_000
    assert (chapters / "01-one.ipynb").stat().st_mtime == 1_000_000_000
    (fake_root / "lib" / "quiz.js").write_text("// the quizzes' script\n")
    assert cache_key.refresh() is True


def _is_cached(cache, notebook) -> bool:
    try:
        cache.match_cache_notebook(notebook)
    except KeyError:
        return False
    return True


def test_lib_lists_every_module(root):
    import importlib

    import lib

    modules = sorted(
        p.stem if p.is_file() else p.name
        for p in (root / "lib").iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()
    )
    assert sorted(lib.__all__) == modules
    for name in modules:
        assert importlib.import_module(f"lib.{name}").__doc__, f"lib.{name} has no docstring"


def test_make_test_runs_every_site_test_module_after_the_build(root):
    """A module marked ``site`` runs only in make test's last stage, which lists its modules."""
    import re

    makefile = (root / "Makefile").read_text()
    listed = set(re.search(r"^SITE_TESTS := (.*)$", makefile, re.MULTILINE)[1].split())
    marked = {
        f"tests/{path.name}"
        for path in (root / "tests").glob("test_*.py")
        if re.search(r"^pytestmark = pytest\.mark\.site$", path.read_text(), re.MULTILINE)
    }
    assert marked == listed
    assert '-m "not site"' in makefile


def test_each_local_extension_is_described_where_it_is_registered_and_in_ext_readme(root, config):
    """``_config.yml``'s comment and ``_ext/README.md``'s table name every registered extension, in order."""
    registered = list(config["sphinx"]["local_extensions"])
    comment = re.findall(r"^  #   (\w+) ", (root / "_config.yml").read_text(), re.MULTILINE)
    assert comment == registered, "the comment above local_extensions in _config.yml lists other extensions"
    table = re.findall(r"^\| `(\w+)` \|", (root / "_ext" / "README.md").read_text(), re.MULTILINE)
    assert table[: len(registered)] == registered, "_ext/README.md's first table lists other extensions"
