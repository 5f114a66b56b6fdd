"""Clear the notebook execution cache when lib/, a requirements file, constraints.txt or the build's kernels change.

jupyter-cache keys each notebook on its cell sources only, so a change in the
`lib` package the notebooks import, or in a pinned dependency, would otherwise
serve stale outputs. The key is a hash of those files, stored next to the cache.

A chapter's quiz file (``chapters/quizzes/NN-name.yaml``) is read by that chapter alone,
so when one changes only that chapter's cached outputs are dropped (their keys, a hash
per quiz file, are stored next to the cache too).

Sphinx reads a page again only when its source is newer than what it read, and a
dropped cache changes no source: so when the whole cache goes, Sphinx's saved state
(``_build/.doctrees``) goes with it and every page is read again (executing what is no
longer cached); when one chapter's outputs go, its notebook's time is set to now.
"""

from __future__ import annotations

import hashlib
import json
import pathlib
import shutil

ROOT = pathlib.Path(__file__).resolve().parent.parent
CACHE = ROOT / "_build" / ".jupyter_cache"
KEY_FILE = ROOT / "_build" / ".jupyter_cache.key"
QUIZ_KEYS = ROOT / "_build" / ".jupyter_cache.quizzes.json"
DOCTREES = ROOT / "_build" / ".doctrees"  # Sphinx's saved environment (Jupyter Book's place for it)


def current_key() -> str:
    digest = hashlib.sha256()
    pinned = [ROOT / name for name in ("requirements.txt", "requirements-dev.txt", "constraints.txt")]
    # the kernels' environment, and how they draw the site's explorers
    pinned += [ROOT / "_ext" / name for name in ("parallel_execution.py", "site_kernel.py", "text_sizes.py")]
    # lib's modules, and the script and style sheet its quizzes inline into their output
    lib = sorted(path for path in (ROOT / "lib").rglob("*") if path.suffix in {".py", ".js", ".css"})
    for path in [*pinned, *lib]:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def quiz_keys() -> dict[str, str]:
    """A hash of each chapter's quiz file, by chapter name."""
    folder = ROOT / "chapters" / "quizzes"
    return {path.stem: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(folder.glob("*.yaml"))}


def forget_chapters(names) -> None:
    """Drop the cached outputs of the chapters ``names`` (those of their notebooks' current cells)."""
    import nbformat
    from jupyter_cache import get_cache

    cache = get_cache(CACHE)
    for name in names:
        notebook = ROOT / "chapters" / f"{name}.ipynb"
        if not notebook.is_file():
            continue
        try:
            record = cache.match_cache_notebook(nbformat.read(notebook, as_version=4))
        except KeyError:  # not cached
            continue
        cache.remove_cache(record.pk)
        notebook.touch()  # Sphinx reads it again, and so executes it


def refresh() -> bool:
    """Delete the cache if its key is out of date; return whether it was deleted.

    Otherwise drop the cached chapters whose quiz file changed since the last call.
    """
    key = current_key()
    stale = not KEY_FILE.is_file() or KEY_FILE.read_text() != key
    if stale:
        for folder in (CACHE, DOCTREES):
            if folder.exists():
                shutil.rmtree(folder)
    quizzes = quiz_keys()
    if not stale and CACHE.exists():
        before = json.loads(QUIZ_KEYS.read_text()) if QUIZ_KEYS.is_file() else {}
        forget_chapters(name for name in quizzes if before.get(name) != quizzes[name])
    KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
    KEY_FILE.write_text(key)
    QUIZ_KEYS.write_text(json.dumps(quizzes, indent=1))
    return stale


if __name__ == "__main__":
    if refresh():
        print("lib/ or the requirements changed: notebooks will be re-executed")
