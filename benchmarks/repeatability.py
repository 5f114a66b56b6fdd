"""Which printed figures of each chapter change with the CPU kernels and the thread count.

Usage::

    python benchmarks/repeatability.py [chapters/05-gradient-descent.ipynb ...]

Every chapter (or the ones named) is executed, from a scratch copy, once per
setting in :data:`SETTINGS`: torch's portable and AVX2 kernels
(``ATEN_CPU_CAPABILITY``), each on one and on two threads. The text each code cell
shows (printed lines, results, glued values; not images) is compared across the
settings, and the script prints, per chapter, the cells whose text differs with
one line from each distinct version. Every run must also pass its check cells:
the chapters assert their claims with margins, so a figure listed here is one
whose last digits move while the claim about it holds. Two workers, about 20
minutes on a 2-core machine for the whole course.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

import nbformat

ROOT = pathlib.Path(__file__).resolve().parent.parent
SETTINGS = {
    "default, 1 thread": {"ATEN_CPU_CAPABILITY": "default", "OMP_NUM_THREADS": "1"},
    "default, 2 threads": {"ATEN_CPU_CAPABILITY": "default", "OMP_NUM_THREADS": "2"},
    "avx2, 1 thread": {"ATEN_CPU_CAPABILITY": "avx2", "OMP_NUM_THREADS": "1"},
    "avx2, 2 threads": {"ATEN_CPU_CAPABILITY": "avx2", "OMP_NUM_THREADS": "2"},
}


def run(chapter: pathlib.Path, setting: str, scratch: pathlib.Path) -> list[str] | str:
    """Execute ``chapter`` under ``setting``; the text of each code cell, or the error."""
    out = scratch / f"{chapter.stem}--{setting.replace(', ', '-').replace(' ', '')}.ipynb"
    env = {**os.environ, **SETTINGS[setting], "PYTHONHASHSEED": "0"}
    command = [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute"]
    command += ["--ExecutePreprocessor.timeout=600", f"--output={out}", str(chapter)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, cwd=chapter.parent)
    if result.returncode:
        return result.stderr.strip().splitlines()[-1]
    nb = nbformat.read(str(out), as_version=4)
    return [text(cell) for cell in nb.cells if cell.cell_type == "code"]


def text(cell) -> str:
    parts = []
    for output in cell.outputs:
        if output.output_type == "stream":
            parts.append(output.text)
        elif "text/plain" in output.get("data", {}) and "image/png" not in output.data:
            parts.append(output.data["text/plain"])
    return "".join(parts)


def differences(runs: dict[str, list[str]]) -> list[tuple[int, list[str]]]:
    """(code-cell number, one differing line per distinct version) for each cell that differs."""
    found = []
    for number, versions in enumerate(zip(*runs.values(), strict=True)):
        if len(set(versions)) > 1:
            lines = [v.splitlines() for v in versions]
            first = next(i for i in range(max(map(len, lines))) if len({v[i] if i < len(v) else "" for v in lines}) > 1)
            distinct = sorted({(v[first] if first < len(v) else "")[:100] for v in lines})
            found.append((number + 1, distinct))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", type=pathlib.Path)
    chapters = [path.resolve() for path in parser.parse_args().chapters] or sorted((ROOT / "chapters").glob("*.ipynb"))
    with tempfile.TemporaryDirectory() as folder, ThreadPoolExecutor(2) as pool:
        jobs = {(c, s): pool.submit(run, c, s, pathlib.Path(folder)) for c in chapters for s in SETTINGS}
        for chapter in chapters:
            runs = {setting: jobs[chapter, setting].result() for setting in SETTINGS}
            failed = {setting: r for setting, r in runs.items() if isinstance(r, str)}
            print(f"\n## {chapter.name}")
            for setting, error in failed.items():
                print(f"FAILED under {setting}: {error}")
            if failed:
                continue
            found = differences(runs)
            print(f"all {len(SETTINGS)} settings pass; {len(found)} code cells show text that differs")
            for number, distinct in found:
                print(f"  code cell {number}: " + "  |  ".join(distinct))


if __name__ == "__main__":
    main()
