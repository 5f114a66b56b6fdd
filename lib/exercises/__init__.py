"""Checked coding exercises: a learner writes a function, one call checks it.

Each chapter's checked exercises import their checks from one module here, e.g.
``from lib.exercises.adaptive import check_adam_step``. A check calls the
learner's function on several seeded random cases, compares it with
``torch.optim``, ``torch.autograd``, ``lib`` or a closed form, and says what is
wrong in words (the sign, a missing factor, a shape), never showing the answer's code.

* ``feedback``: what every check shares (:func:`~lib.exercises.feedback.check_function`).
* ``gradients`` (chapter 2), ``costs`` (3), ``curvature`` (4 and 8), ``descent`` (5 and 6),
  ``schedules`` (7), ``momentum`` (9), ``adaptive`` (10), ``networks`` (11),
  ``large_models`` (12).
"""
