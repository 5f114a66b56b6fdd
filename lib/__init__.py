"""Helpers shared by the chapters of *Optimization for Machine Learning*.

Each module holds one concept; import what a chapter needs from it, e.g.
``from lib.data import running_example``. Every public function checks its
arguments and raises ``ValueError`` or ``TypeError`` naming the bad one.

Foundations: ``data``, ``losses``, ``autodiff``, ``calculus``, ``functions``.
Optimizers and training: ``optimizers``, ``schedules``, ``loops``, ``trajectory``, ``train``,
``distributed``, ``sharding``, ``second_order``, ``rates``, ``race``, ``race_pictures``, ``networks``.
Pictures and explorers: ``plots``, ``explorers``, ``outliers``. Quizzes: ``quiz``.
Argument checks: ``validation``. Checking a learner's code in the checked exercises: ``exercises``.
Timing work fairly on a busy machine: ``timing``.
The torch releases the course is tested with: ``versions``.
"""

__all__ = [
    "autodiff",
    "calculus",
    "data",
    "distributed",
    "exercises",
    "explorers",
    "functions",
    "loops",
    "losses",
    "networks",
    "optimizers",
    "outliers",
    "plots",
    "quiz",
    "race",
    "race_pictures",
    "rates",
    "schedules",
    "second_order",
    "sharding",
    "timing",
    "train",
    "trajectory",
    "validation",
    "versions",
]
