"""Clear the notebook execution cache when lib/, a requirements file, constraints.txt or the build's executor change.

jupyter-cache keys each notebook on its cell sources only, so a change in the
`lib` package the notebooks import, or in a pinned dependency, would otherwise
serve stale outputs. The key is a hash of those files, stored next to the cache.
"""

from __future__ import annotations

import hashlib
import pathlib
import shutil

ROOT = pathlib.Path(__file__).resolve().parent.parent
CACHE = ROOT / "_build" / ".jupyter_cache"
KEY_FILE = ROOT / "_build" / ".jupyter_cache.key"


def current_key() -> str:
    digest = hashlib.sha256()
    pinned = [ROOT / name for name in ("requirements.txt", "requirements-dev.txt", "constraints.txt")]
    # the kernels' environment, and how they draw the site's explorers
    pinned += [ROOT / "_ext" / name for name in ("parallel_execution.py", "site_kernel.py")]
    for path in [*pinned, *sorted((ROOT / "lib").rglob("*.py"))]:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def refresh() -> bool:
    """Delete the cache if its key is out of date; return whether it was deleted."""
    key = current_key()
    stale = not KEY_FILE.is_file() or KEY_FILE.read_text() != key
    if stale and CACHE.exists():
        shutil.rmtree(CACHE)
    KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
    KEY_FILE.write_text(key)
    return stale


if __name__ == "__main__":
    if refresh():
        print("lib/ or the requirements changed: notebooks will be re-executed")
