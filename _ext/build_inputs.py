"""What the local extensions read besides the book: the npm packages, and a version of ``_ext`` itself.

Used by the book build (registered in ``_config.yml`` under ``sphinx: local_extensions``).

``npm ci`` installs the packages pinned in ``package.json`` and ``package-lock.json`` into
``node_modules/`` (``make book`` runs it): MathJax for :mod:`build_time_maths` and Font
Awesome's SVG files for :mod:`inline_icons`, PurgeCSS for :mod:`lean_styles`. The build fails at its start, with the
command that fixes it, when they are missing. :func:`extensions_version` changes with
the files of ``_ext/``, so that a change there rewrites every page.
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import subprocess

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

PACKAGES = ("mathjax-full", "@fortawesome/fontawesome-free", "purgecss")  # what the build reads from node_modules/


def node_modules(app: Sphinx) -> pathlib.Path:
    """Where `npm ci` installed the packages (the book's node_modules/ unless configured)."""
    return (pathlib.Path(app.confdir) / app.config.build_inputs_node_modules).resolve()


def run_node(script: pathlib.Path, payload: str, modules: pathlib.Path, *, who: str, purpose: str, package: str) -> str:
    """Run ``script`` in Node.js with ``payload`` on its standard input and the packages of
    ``modules`` on its path; what it wrote. A missing ``node`` or a failing script is an
    ``ExtensionError`` naming the extension (``who``), what ``node`` is needed ``purpose`` and
    the npm ``package`` the script reads."""
    environment = {**os.environ, "NODE_PATH": str(modules)}
    try:
        done = subprocess.run(
            ["node", str(script)], input=payload, capture_output=True, text=True, check=True, env=environment
        )
    except FileNotFoundError as error:
        raise ExtensionError(f"{who}: Node.js (`node`) is needed {purpose}") from error
    except subprocess.CalledProcessError as error:
        raise ExtensionError(
            f"{who}: {script.name} failed (run `npm ci`, which installs {package}):\n{error.stderr}"
        ) from error
    return done.stdout


def check_packages(app: Sphinx) -> None:
    """Fail early, with the fix, when the npm packages are not installed."""
    for name in PACKAGES:
        if not (node_modules(app) / name / "package.json").is_file():
            raise ExtensionError(
                f"build_inputs: the npm package {name} is not in {node_modules(app)}; "
                "run `npm ci` in the repository (`make book` does it)"
            )


def extensions_version() -> int:
    """Changes with the files of _ext/, so that a change there rebuilds every page."""
    digest = hashlib.sha256()
    for path in sorted(pathlib.Path(__file__).parent.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.name.encode() + path.read_bytes())
    return int(digest.hexdigest()[:8], 16)


def static_files(app: Sphinx, config) -> None:
    config.html_static_path = [*config.html_static_path, str(pathlib.Path(__file__).parent / "static")]


def setup(app: Sphinx):
    app.add_config_value("build_inputs_node_modules", "node_modules", "env")
    app.connect("config-inited", static_files)
    app.connect("builder-inited", check_packages)
    safe = {"parallel_read_safe": True, "parallel_write_safe": True}
    return {"version": "1.0", "env_version": extensions_version(), **safe}
