"""What each local extension is worth: the site built without it, measured against the full site.

Usage::

    python benchmarks/extensions.py [--page chapters/10-adaptive-methods] [--runs 2] [--only NAME ...]

For the full site and for each variant that leaves one part out (a step of
``page_rewrites``, through its ``page_rewrites_skip`` setting, or a whole extension
dropped from ``_config.yml``), the book is built from the execution cache (run ``make
book`` first: nothing is executed again) into a scratch folder, and the page is measured:
its weight as downloaded with gzip, and Lighthouse's mobile performance score, total
blocking time, first contentful paint and accessibility score (median of ``--runs`` runs, each in a fresh
Chromium profile, the site served with gzip from 127.0.0.1). The machine's Lighthouse
``benchmarkIndex`` is printed with them: scores are comparable within one run of this
script, not across machines. ``_ext/README.md`` holds the figures of the last run.
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import subprocess
import sys
import tempfile

import yaml

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from tests.site_tools import ROOT, lighthouse, page_weight, serve

JUPYTER_BOOK = pathlib.Path(sys.executable).parent / "jupyter-book"
# name -> (extensions dropped from _config.yml, page_rewrites steps skipped)
VARIANTS = {
    "full site": ((), ()),
    "without build_time_maths": (("build_time_maths",), ("build_time_maths",)),
    "without compact_images": ((), ("compact_images",)),
    "without inline_icons": ((), ("inline_icons",)),
    "without deferred_scripts": ((), ("deferred_scripts",)),
    "without lean_code": ((), ("lean_code",)),
    "without lean_styles": ((), ("lean_styles",)),
    "without lazy_animations": (("lazy_animations",), ()),
    "without page_fixes": (("page_fixes",), ()),
}


def build(folder: pathlib.Path, dropped: tuple[str, ...], skipped: tuple[str, ...]) -> pathlib.Path:
    """The book built into ``folder`` from the course's execution cache; the site's path."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["execute"]["cache"] = str(ROOT / "_build" / ".jupyter_cache")
    config["sphinx"]["config"]["page_rewrites_skip"] = list(skipped)
    config["sphinx"]["config"]["build_inputs_node_modules"] = str(ROOT / "node_modules")
    extensions = config["sphinx"]["local_extensions"]
    config["sphinx"]["local_extensions"] = {
        name: str(ROOT / extensions[name]) for name in extensions if name not in dropped
    }
    (folder / "_config.yml").write_text(yaml.safe_dump(config))
    command = [str(JUPYTER_BOOK), "build", str(ROOT), "--config", str(folder / "_config.yml")]
    command += ["--path-output", str(folder)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"the build failed:\n{(done.stdout + done.stderr)[-3000:]}")
    return folder / "_build" / "html"


def measure(site: pathlib.Path, page: str, runs: int) -> dict:
    weight = page_weight(site, page)
    with serve(site) as base:
        results = lighthouse([f"{base}{page}.html"] * runs, "mobile", ("performance", "accessibility"))
    return {
        "gzip": weight["transfer"],
        "performance": statistics.median(r["scores"]["performance"] for r in results),
        "accessibility": min(r["scores"]["accessibility"] for r in results),
        "tbt": statistics.median(r["tbt"] for r in results),
        "fcp": statistics.median(r["fcp"] for r in results),
        "benchmark": statistics.median(r.get("benchmark_index") or 0 for r in results),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--page", default="chapters/10-adaptive-methods", help="the page to measure")
    parser.add_argument("--runs", type=int, default=2, help="Lighthouse runs per variant (the median is shown)")
    parser.add_argument("--only", nargs="*", help="variants to measure (default: all)")
    arguments = parser.parse_args(argv)
    names = arguments.only or list(VARIANTS)
    print(f"{arguments.page}, Lighthouse mobile, median of {arguments.runs} runs")
    print(f"{'variant':<28} {'gzip kB':>8} {'perf':>5} {'TBT ms':>7} {'FCP s':>6} {'a11y':>5} {'benchmarkIndex':>15}")
    for name in names:
        dropped, skipped = VARIANTS[name]
        with tempfile.TemporaryDirectory() as folder:
            figures = measure(build(pathlib.Path(folder), dropped, skipped), arguments.page, arguments.runs)
        print(
            f"{name:<28} {figures['gzip'] / 1000:>8.0f} {figures['performance']:>5.0f} {figures['tbt']:>7.0f} "
            f"{figures['fcp'] / 1000:>6.1f} {figures['accessibility']:>5.0f} {figures['benchmark']:>15.0f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
