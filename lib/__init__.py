"""Helpers shared by the chapters of *Optimization for Machine Learning*.

Each module holds one concept; import what a chapter needs from it, e.g.
``from lib.data import running_example``. Every public function checks its
arguments and raises ``ValueError`` or ``TypeError`` naming the bad one.
"""

__all__ = ["data", "plots", "validation"]
