"""The torch releases the course is tested with, and the one-line note when another is installed.

The chapters compare ``lib`` with ``torch.optim`` and ``torch.optim.lr_scheduler`` to the
last digit, so a torch release that changes one of those classes can make a check fail.
The bootstrap cell of every chapter prints :func:`torch_note` (Colab ships a torch of its own).
"""

from __future__ import annotations

import re

TORCH_TESTED = ((2, 13), (2, 14))
"""``(major, minor)`` of every torch release the unit tests and the chapters pass on."""


def torch_note(version: str) -> str | None:
    """``None`` when torch ``version`` (e.g. ``torch.__version__``) is tested, else a one-line note."""
    if not isinstance(version, str):
        raise TypeError(f"version must be a string such as '2.13.0', got {type(version).__name__}")
    match = re.match(r"(\d+)\.(\d+)", version)
    if match is None:
        raise ValueError(f"version must start with major.minor, such as '2.13.0', got {version!r}")
    if (int(match.group(1)), int(match.group(2))) in TORCH_TESTED:
        return None
    tested = " and ".join(f"{major}.{minor}" for major, minor in TORCH_TESTED)
    return (
        f"Note: this course is tested with torch {tested}; this is torch {version}. The chapters should "
        "run, but a check that compares lib with torch.optim may fail where torch has changed."
    )
