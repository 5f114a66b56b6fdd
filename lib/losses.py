"""Cost functions and their gradients, written from scratch.

Defined in chapter 3 (*Cost functions*). Each loss matches the
``torch.nn.functional`` function of the same idea, value for value, and each
``*_grad`` function returns the gradient that ``torch.autograd`` would compute.

Regression, for predictions ``y_hat`` and targets ``y`` of the same shape, with
errors ``e = y_hat − y`` (prediction minus target, as the chapters write them) and
``n`` elements:

=====================  ==========================================  ==========================
loss                   value (``reduction="mean"``)                gradient w.r.t. ``y_hat``
=====================  ==========================================  ==========================
:func:`mae`            ``(1/n) Σ |e|``                              ``sign(e) / n``
:func:`mse`            ``(1/n) Σ e²``                               ``2 e / n``
:func:`huber`          ``(1/n) Σ huber_δ(e)``, where                ``clip(e, −δ, δ) / n``
                       ``huber_δ(e) = e²/2`` if ``|e| ≤ δ``,
                       else ``δ (|e| − δ/2)``
=====================  ==========================================  ==========================

Classification, for ``n`` examples:

* :func:`binary_cross_entropy` — probabilities ``p`` and labels ``y`` in [0, 1]:
  ``−(1/n) Σ [y log p + (1 − y) log(1 − p)]``, gradient ``(p − y) / (p (1 − p)) / n``;
* :func:`binary_cross_entropy_with_logits` — the same on scores ``z`` with ``p = σ(z)``,
  gradient ``(σ(z) − y) / n``;
* :func:`cross_entropy` — logits of shape ``(n, k)`` and class indices ``y``:
  ``−(1/n) Σ log softmax(z_i)[y_i]``, gradient ``(softmax(z) − onehot(y)) / n``;
* :func:`sigmoid`, :func:`softmax` and :func:`log_softmax`, computed stably.

Every loss takes ``reduction="mean"`` (the default, as in torch), ``"sum"`` or
``"none"`` (one loss per element, or per example for :func:`cross_entropy`); its
gradient function takes the same arguments. With ``"none"`` the gradient function
returns the derivative of each element's own loss.

:func:`best_line` returns the line ``y_hat = m x + b`` that a regression loss
prefers, which the chapter uses to show how each loss treats outliers.
"""

from __future__ import annotations

import torch

from lib.validation import as_finite_tensor, check_real

REDUCTIONS = ("mean", "sum", "none")
BCE_LOG_FLOOR = -100.0
"""``binary_cross_entropy`` clamps each log at −100, as torch does, so p = 0 or 1 gives a finite loss."""
BCE_GRAD_EPS = 1e-12
"""``binary_cross_entropy_grad`` divides by ``max(p (1 − p), 1e-12)``, as torch's backward pass does."""


# ---------------------------------------------------------------- input checks


def _float_tensor(name, value):
    tensor = as_finite_tensor(name, value)
    if not tensor.is_floating_point():
        tensor = tensor.to(torch.get_default_dtype())
    if tensor.numel() == 0:
        raise ValueError(f"{name} must not be empty")
    return tensor


def _pair(names, first, second):
    """Check two same-shape tensors of real numbers; return them in a common float dtype."""
    a, b = _float_tensor(names[0], first), _float_tensor(names[1], second)
    if a.shape != b.shape:
        raise ValueError(
            f"{names[1]} must have the same shape as {names[0]}, got {tuple(b.shape)} and {tuple(a.shape)}"
        )
    dtype = torch.promote_types(a.dtype, b.dtype)
    return a.to(dtype), b.to(dtype)


def _check_reduction(reduction):
    if not isinstance(reduction, str):
        raise TypeError(f"reduction must be a string, got {type(reduction).__name__}")
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    return reduction


def _reduce(values, reduction, count):
    if reduction == "mean":
        return values.sum() / count
    if reduction == "sum":
        return values.sum()
    return values


def _scale(grad, reduction, count):
    return grad / count if reduction == "mean" else grad


def _check_unit_interval(name, tensor):
    if bool(((tensor < 0) | (tensor > 1)).any()):
        raise ValueError(f"{name} must lie in [0, 1]")


# ---------------------------------------------------------------- regression


def mae(y_hat, y, *, reduction: str = "mean") -> torch.Tensor:
    """Mean absolute error ``(1/n) Σ |y_hat − y|`` (torch: ``F.l1_loss``)."""
    y_hat, y = _pair(("y_hat", "y"), y_hat, y)
    reduction = _check_reduction(reduction)
    return _reduce((y_hat - y).abs(), reduction, y.numel())


def mae_grad(y_hat, y, *, reduction: str = "mean") -> torch.Tensor:
    """Gradient of :func:`mae` w.r.t. ``y_hat``: ``sign(y_hat − y) / n`` (0 where they are equal)."""
    y_hat, y = _pair(("y_hat", "y"), y_hat, y)
    reduction = _check_reduction(reduction)
    return _scale(torch.sign(y_hat - y), reduction, y.numel())


def mse(y_hat, y, *, reduction: str = "mean") -> torch.Tensor:
    """Mean squared error ``(1/n) Σ (y_hat − y)²`` (torch: ``F.mse_loss``)."""
    y_hat, y = _pair(("y_hat", "y"), y_hat, y)
    reduction = _check_reduction(reduction)
    return _reduce((y_hat - y) ** 2, reduction, y.numel())


def mse_grad(y_hat, y, *, reduction: str = "mean") -> torch.Tensor:
    """Gradient of :func:`mse` w.r.t. ``y_hat``: ``2 (y_hat − y) / n``."""
    y_hat, y = _pair(("y_hat", "y"), y_hat, y)
    reduction = _check_reduction(reduction)
    return _scale(2 * (y_hat - y), reduction, y.numel())


def huber(y_hat, y, *, delta: float = 1.0, reduction: str = "mean") -> torch.Tensor:
    """Huber's loss (Huber 1964): quadratic for small residuals, linear for large ones.

    ``huber_δ(e) = e²/2`` if ``|e| ≤ δ``, else ``δ (|e| − δ/2)``, for the error
    ``e = y_hat − y``; torch: ``F.huber_loss``.
    (``F.smooth_l1_loss`` with ``beta=δ`` is the same curve divided by ``δ``.)
    """
    y_hat, y = _pair(("y_hat", "y"), y_hat, y)
    delta = check_real("delta", delta, low=0.0, low_open=True)
    reduction = _check_reduction(reduction)
    miss = (y_hat - y).abs()  # |e|
    values = torch.where(miss <= delta, 0.5 * miss**2, delta * (miss - 0.5 * delta))
    return _reduce(values, reduction, y.numel())


def huber_grad(y_hat, y, *, delta: float = 1.0, reduction: str = "mean") -> torch.Tensor:
    """Gradient of :func:`huber` w.r.t. ``y_hat``: the error ``e`` clipped to ``[−δ, δ]``, over ``n``."""
    y_hat, y = _pair(("y_hat", "y"), y_hat, y)
    delta = check_real("delta", delta, low=0.0, low_open=True)
    reduction = _check_reduction(reduction)
    return _scale((y_hat - y).clamp(-delta, delta), reduction, y.numel())


# ---------------------------------------------------------------- classification


def sigmoid(z) -> torch.Tensor:
    """The logistic function ``σ(z) = 1 / (1 + e^(−z))``, which maps a score to a probability."""
    z = _float_tensor("z", z)
    small = torch.exp(-z.abs())  # never overflows
    return torch.where(z >= 0, 1 / (1 + small), small / (1 + small))


def _check_dim(dim, tensor):
    if tensor.ndim == 0:
        raise ValueError("logits must have at least one dimension")
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise TypeError(f"dim must be an integer, got {type(dim).__name__}")
    if not -tensor.ndim <= dim < tensor.ndim:
        raise ValueError(f"dim must be in [{-tensor.ndim}, {tensor.ndim - 1}] for {tensor.ndim}-d logits, got {dim}")
    return dim


def log_softmax(logits, dim: int = -1) -> torch.Tensor:
    """``log softmax(z)_j = z_j − log Σ_k e^(z_k)``, computed after subtracting the largest logit."""
    logits = _float_tensor("logits", logits)
    dim = _check_dim(dim, logits)
    shifted = logits - logits.amax(dim=dim, keepdim=True).detach()
    return shifted - shifted.exp().sum(dim=dim, keepdim=True).log()


def softmax(logits, dim: int = -1) -> torch.Tensor:
    """``softmax(z)_j = e^(z_j) / Σ_k e^(z_k)``: scores to probabilities that sum to one along ``dim``."""
    return log_softmax(logits, dim=dim).exp()


def binary_cross_entropy(p, y, *, reduction: str = "mean") -> torch.Tensor:
    """``−(1/n) Σ [y log p + (1 − y) log(1 − p)]`` for probabilities ``p`` (torch: ``F.binary_cross_entropy``).

    Each log is clamped at −100, as in torch.
    """
    p, y = _pair(("p", "y"), p, y)
    _check_unit_interval("p", p)
    _check_unit_interval("y", y)
    reduction = _check_reduction(reduction)
    log_p = torch.log(p).clamp_min(BCE_LOG_FLOOR)
    log_not_p = torch.log1p(-p).clamp_min(BCE_LOG_FLOOR)
    return _reduce(-(y * log_p + (1 - y) * log_not_p), reduction, y.numel())


def binary_cross_entropy_grad(p, y, *, reduction: str = "mean") -> torch.Tensor:
    """Gradient of :func:`binary_cross_entropy` w.r.t. ``p``: ``(p − y) / (p (1 − p)) / n``."""
    p, y = _pair(("p", "y"), p, y)
    _check_unit_interval("p", p)
    _check_unit_interval("y", y)
    reduction = _check_reduction(reduction)
    return _scale((p - y) / (p * (1 - p)).clamp_min(BCE_GRAD_EPS), reduction, y.numel())


def binary_cross_entropy_with_logits(logits, y, *, reduction: str = "mean") -> torch.Tensor:
    """:func:`binary_cross_entropy` of ``σ(logits)``, computed stably (torch: ``F.binary_cross_entropy_with_logits``).

    Uses ``max(z, 0) − z y + log(1 + e^(−|z|))``, which never takes the log of zero.
    """
    z, y = _pair(("logits", "y"), logits, y)
    _check_unit_interval("y", y)
    reduction = _check_reduction(reduction)
    values = z.clamp_min(0) - z * y + torch.log1p(torch.exp(-z.abs()))
    return _reduce(values, reduction, y.numel())


def binary_cross_entropy_with_logits_grad(logits, y, *, reduction: str = "mean") -> torch.Tensor:
    """Gradient of :func:`binary_cross_entropy_with_logits` w.r.t. the logits: ``(σ(z) − y) / n``."""
    z, y = _pair(("logits", "y"), logits, y)
    _check_unit_interval("y", y)
    reduction = _check_reduction(reduction)
    return _scale(sigmoid(z) - y, reduction, y.numel())


def _classes(logits, y):
    logits = _float_tensor("logits", logits)
    if logits.ndim != 2:
        raise ValueError(f"logits must have shape (n, k), got {tuple(logits.shape)}")
    if not isinstance(y, torch.Tensor):
        y = torch.as_tensor(y)
    if y.dtype.is_floating_point or y.dtype.is_complex or y.dtype == torch.bool:
        raise TypeError(f"y must hold integer class indices, got dtype {y.dtype}")
    if y.shape != logits.shape[:1]:
        raise ValueError(f"y must have shape ({logits.shape[0]},), one class per row of logits, got {tuple(y.shape)}")
    if bool(((y < 0) | (y >= logits.shape[1])).any()):
        raise ValueError(f"y must hold class indices in [0, {logits.shape[1] - 1}]")
    return logits, y.to(device=logits.device, dtype=torch.int64)


def cross_entropy(logits, y, *, reduction: str = "mean") -> torch.Tensor:
    """``−(1/n) Σ log softmax(z_i)[y_i]`` for logits ``(n, k)`` and class indices ``y`` (torch: ``F.cross_entropy``)."""
    logits, y = _classes(logits, y)
    reduction = _check_reduction(reduction)
    values = -log_softmax(logits, dim=1).gather(1, y[:, None]).squeeze(1)
    return _reduce(values, reduction, y.numel())


def cross_entropy_grad(logits, y, *, reduction: str = "mean") -> torch.Tensor:
    """Gradient of :func:`cross_entropy` w.r.t. the logits: ``(softmax(z) − onehot(y)) / n``."""
    logits, y = _classes(logits, y)
    reduction = _check_reduction(reduction)
    onehot = torch.nn.functional.one_hot(y, logits.shape[1]).to(logits.dtype)
    return _scale(softmax(logits, dim=1) - onehot, reduction, y.numel())


# ---------------------------------------------------------------- the line each loss prefers

LINE_LOSSES = ("mse", "mae", "huber")
MAX_POINTS_MAE = 1000
""":func:`best_line` with ``loss="mae"`` tries every pair of points, O(n³) work: it refuses more points."""
MAE_TIE_TOL = 1e-12
"""Lines whose mean absolute error is within this (relative) tolerance of the smallest count as tied."""


def best_line(x, y, loss: str = "mse", *, delta: float = 1.0) -> tuple[float, float]:
    """Return ``(m, b)``, the line ``y_hat = m x + b`` with the smallest ``loss`` on the points ``(x, y)``.

    * ``"mse"`` — least squares, solved exactly (``torch.linalg.lstsq``);
    * ``"mae"`` — exact too: some best line passes through two of the points, so every
      line through a pair is tried. The best line need not be unique; when several tie,
      the first found (pairs taken in the order of the points) is returned;
    * ``"huber"`` — iteratively reweighted least squares: each point gets the weight
      ``min(1, δ/|e|)`` and the weighted least-squares line is refitted until it stops moving.
    """
    x = as_finite_tensor("x", x, dtype=torch.float64, ndim=1)
    y = as_finite_tensor("y", y, dtype=torch.float64, ndim=1)
    if x.shape != y.shape:
        raise ValueError(f"y must have the same length as x, got {y.numel()} and {x.numel()}")
    if torch.unique(x).numel() < 2:
        raise ValueError("x must contain at least two distinct values to determine a line")
    if not isinstance(loss, str) or loss.lower() not in LINE_LOSSES:
        raise ValueError(f"loss must be one of {LINE_LOSSES}, got {loss!r}")
    delta = check_real("delta", delta, low=0.0, low_open=True)
    loss = loss.lower()
    if loss == "mse":
        return _least_squares(x, y, torch.ones_like(x))
    if loss == "mae":
        return _least_absolute(x, y)
    return _least_huber(x, y, delta)


def _least_squares(x, y, weights):
    root = weights.sqrt()
    design = torch.stack([x, torch.ones_like(x)], dim=1) * root[:, None]
    m, b = torch.linalg.lstsq(design, (y * root)[:, None]).solution.squeeze(1).tolist()
    return m, b


def _least_absolute(x, y):
    if x.numel() > MAX_POINTS_MAE:
        raise ValueError(f"loss='mae' tries every pair of points and accepts at most {MAX_POINTS_MAE}, got {x.numel()}")
    slopes, intercepts, costs = [], [], []
    for i in range(x.numel() - 1):  # the lines through point i and each later point
        others = torch.arange(i + 1, x.numel(), device=x.device)
        others = others[x[others] != x[i]]
        m = (y[others] - y[i]) / (x[others] - x[i])
        b = y[i] - m * x[i]
        slopes.append(m)
        intercepts.append(b)
        costs.append((m[:, None] * x + b[:, None] - y).abs().mean(dim=1))
    slopes, intercepts, costs = torch.cat(slopes), torch.cat(intercepts), torch.cat(costs)
    # Several lines can share the smallest cost; rounding must not decide which one is returned.
    tied = costs <= costs.min() + MAE_TIE_TOL * (1 + costs.min())
    first = int(tied.nonzero()[0, 0])
    return float(slopes[first]), float(intercepts[first])


def _least_huber(x, y, delta, tol=1e-13, max_iter=10_000):
    m, b = _least_squares(x, y, torch.ones_like(x))
    for _ in range(max_iter):
        miss = (m * x + b - y).abs()  # |e|
        weights = torch.where(miss <= delta, torch.ones_like(miss), delta / miss)
        m_new, b_new = _least_squares(x, y, weights)
        if abs(m_new - m) + abs(b_new - b) <= tol * (1 + abs(m) + abs(b)):
            return m_new, b_new
        m, b = m_new, b_new
    return m, b
