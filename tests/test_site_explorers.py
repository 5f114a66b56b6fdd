"""Every explorer on the built site works with no kernel: each control redraws its figure.

Reads the built site (``make book``) in Chromium through the static server and browser
fixtures of ``tests/test_browser.py``. For every explorer on every page: each control,
moved with the keyboard (a range input) or by choosing another option (a drop-down),
shows another figure, which loads; the numbers the page then shows are those ``lib``
computes for that setting, recomputed here from ``lib`` and ``torch.optim``; a click on
a picture with a pad moves its two sliders; and nothing logs an error or asks for a
file from another site.
"""

from __future__ import annotations

import cmath
import functools
import json
import math
import urllib.parse

import pytest
import torch

from tests.site_tools import SITE, TIMEOUT_MS, toc_pages

pytestmark = pytest.mark.site

BUILT = [page for page in toc_pages() if (SITE / f"{page}.html").is_file()]  # none before `make book`
PAGES = [page for page in BUILT if 'class="explorer"' in (SITE / f"{page}.html").read_text(encoding="utf-8")]
EXPLORER_CELLS = {  # the chapters whose cells are tagged ``explorer``, so whose pages must hold one
    "chapters/01-why-optimize": 1,
    "chapters/02-gradients-and-autodiff": 1,
    "chapters/03-cost-functions": 1,
    "chapters/04-critical-points": 1,
    "chapters/05-gradient-descent": 1,
    "chapters/06-stochastic-gradient-descent": 1,
    "chapters/07-learning-rate-schedules": 1,
    "chapters/08-jacobians-hessians-newton": 1,
    "chapters/09-momentum": 2,
    "chapters/10-adaptive-methods": 1,
}
# the pages whose explorer takes a click on its picture
PADS = ["chapters/08-jacobians-hessians-newton", "chapters/09-momentum"]

STATE_JS = """(root) => ({
  src: root.querySelector('img').currentSrc || root.querySelector('img').src,
  loaded: root.querySelector('img').complete && root.querySelector('img').naturalWidth > 0,
  frame: root.dataset.frame,
  values: JSON.parse(root.dataset.values),
  readout: root.querySelector('.explorer-readout').textContent,
  positions: [...root.querySelectorAll('[data-control]')].map(e => parseInt(e.value, 10)),
})"""


def _assert_equal(shown: dict, want: dict, where) -> None:
    """Words equal, numbers equal to 1e-9."""
    assert shown.keys() == want.keys(), where
    for key, value in want.items():
        if isinstance(value, str):
            assert shown[key] == value, (where, key)
        else:
            assert shown[key] == pytest.approx(value, rel=1e-9, abs=1e-9), (where, key)


def _settings(data, positions):
    return {c["name"]: c["values"][k] for c, k in zip(data["controls"], positions, strict=True)}


# ------------------------------------------------ what lib computes, recomputed here


def _torch_final(f, x0, optimizer, steps, **options):
    """``f`` at the last finite point of ``steps`` steps of a ``torch.optim`` optimizer (a race's final value)."""
    from lib.functions import NonFiniteValueError

    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    opt = optimizer([x], **options)
    last = float(f(x.detach()))
    for _ in range(steps):
        opt.zero_grad()
        f(x).backward()
        opt.step()
        try:
            value = float(f(x.detach()))
        except NonFiniteValueError:  # the surface refuses a value that overflowed
            break
        if not math.isfinite(value):
            break
        last = value
    return last


def _sgd(f, x0, lr, steps):
    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    for _ in range(steps):
        (g,) = torch.autograd.grad(f(x), x)
        with torch.no_grad():
            x -= lr * g
    return x.detach(), float(f(x.detach()))


def _newton_end(f, x0, steps):
    """Newton's method written out: solve H d = -g with autograd's gradient and Hessian."""
    x = torch.tensor(x0, dtype=torch.float64)
    for _ in range(steps):
        g = torch.func.grad(f)(x)
        h = torch.autograd.functional.hessian(f, x)
        x = x - torch.linalg.solve(h, g)
    return x


def _kind(f, x):
    """What the end point is, by the signs of the Hessian's eigenvalues there."""
    eigenvalues = torch.linalg.eigvalsh(torch.autograd.functional.hessian(f, x))
    return {2: "minimum", 0: "maximum", 1: "saddle"}[int((eigenvalues > 0).sum())]


@functools.cache
def _line_data(n, seed=None):
    """A chapter's training split of the synthetic line, in float64, and its least-squares line."""
    from lib.data import synthetic_line, train_validation_split

    x, y = synthetic_line(n) if seed is None else synthetic_line(n, slope=-0.5, intercept=2.0, noise=1.0, seed=seed)
    x_train, y_train, _, _ = train_validation_split(x, y, validation_fraction=0.2, seed=0)
    xd, yd = x_train.double(), y_train.double()
    design = torch.stack([xd, torch.ones_like(xd)], 1)
    least_squares = torch.linalg.lstsq(design, yd[:, None]).solution[:, 0]
    return xd, yd, least_squares


def _batch_loss(theta, xb, yb):
    """The sum over rows of ``theta`` (one (m, b) each) of the mean squared error on its batch."""
    return ((theta[..., :1] * xb + theta[..., 1:] - yb) ** 2).mean(-1).sum()


def _batch_explorer(batch, lr, steps=300):
    """Chapter 6's explorer: the start's gradient noise, and SGD's path against full batch's,
    with autograd gradients and ``torch.optim.SGD``."""
    xd, yd, least_squares = _line_data(8_000_000, 42)
    n = len(xd)
    start = torch.tensor([0.9, 0.1], dtype=torch.float32).double()  # the chapter's float32 start
    sums = [(xd * xd).sum(), xd.sum(), (xd * yd).sum(), (yd * yd).sum()]

    def full_cost(theta):  # the mean squared error over all n rows, from its sums
        m, b = theta
        xx, x, xy, yy = sums
        return (m * m * xx + 2 * m * b * x + n * b * b - 2 * m * xy - 2 * b * yd.sum() + yy) / n

    def gradient_of(cost, theta):
        theta = theta.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(cost(theta), theta)
        return g

    rows = torch.randint(n, (200, batch), generator=torch.Generator().manual_seed(1))
    many = start.repeat(200, 1)
    errors = gradient_of(lambda t: _batch_loss(t, xd[rows], yd[rows]), many) - gradient_of(full_cost, start)
    noise = float(errors.pow(2).sum(1).mean().sqrt())

    def run(next_cost):
        theta = start.clone().requires_grad_(True)
        opt = torch.optim.SGD([theta], lr=lr)
        points = [start.clone()]
        for _ in range(steps):
            opt.zero_grad()
            next_cost()(theta).backward()
            opt.step()
            points.append(theta.detach().clone())
        return torch.stack(points)

    generator = torch.Generator().manual_seed(0)

    def batch_cost():
        rows = torch.randint(n, (batch,), generator=generator)
        return lambda t: _batch_loss(t, xd[rows], yd[rows])

    noisy, smooth = run(batch_cost), run(lambda: full_cost)
    return {
        "gradient noise": noise,
        "median gap": float((noisy - smooth).norm(dim=1).median()),
        "end to minimum": float((noisy[-1] - least_squares).norm()),
    }


def _schedule_explorer(schedule, eta0, runs=100, steps=3000, batch=32):
    """Chapter 7's explorer: the rates of ``torch.optim.lr_scheduler``'s schedules, and the
    training cost above least squares where ``runs`` runs of ``torch.optim.SGD`` end with them."""
    from torch.optim import lr_scheduler

    def warmup_cosine(t, w=150):
        return t / w if t < w else 0.5 * (1 + math.cos(math.pi * (min(t, steps) - w) / (steps - w)))

    factories = {
        "constant": lambda o: lr_scheduler.LambdaLR(o, lambda t: 1.0),
        "step": lambda o: lr_scheduler.StepLR(o, step_size=steps // 3, gamma=0.3),
        "exponential": lambda o: lr_scheduler.ExponentialLR(o, gamma=0.995),
        "cosine": lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=steps),
        "warm-up + cosine": lambda o: lr_scheduler.LambdaLR(o, warmup_cosine),
        "one-cycle": lambda o: lr_scheduler.OneCycleLR(o, max_lr=eta0, total_steps=steps, cycle_momentum=False),
    }
    xd, yd, least_squares = _line_data(24_000)
    theta = torch.tensor([0.9, 0.1], dtype=torch.float64).repeat(runs, 1).requires_grad_(True)
    opt = torch.optim.SGD([theta], lr=eta0)
    schedule_of = factories[schedule](opt)
    generator = torch.Generator().manual_seed(0)
    rates = []
    for _ in range(steps):
        rates.append(opt.param_groups[0]["lr"])
        rows = torch.randint(len(xd), (runs * batch,), generator=generator).view(runs, batch)
        opt.zero_grad()
        _batch_loss(theta, xd[rows], yd[rows]).backward()
        opt.step()
        schedule_of.step()
    final = theta.detach()

    def cost(t):
        return ((t[..., :1] * xd + t[..., 1:] - yd) ** 2).mean(-1)

    return {
        "cost above the floor": float((cost(final) - cost(least_squares)).mean()),
        "final rate": rates[-1],
        "mean rate": sum(rates) / steps,
    }


def _heavy_ball_plane(lr, momentum, steps=100):
    """Chapter 9's plane explorer: the rate from the roots of z² − (1 + β − ηλ)z + β for
    λ = 0.2 and 4, and the error of ``torch.optim.SGD`` with momentum on 0.1x² + 2y²."""
    roots = [
        (1 + momentum - lr * lam + sign * cmath.sqrt((1 + momentum - lr * lam) ** 2 - 4 * momentum)) / 2
        for lam in (0.2, 4.0)
        for sign in (1, -1)
    ]
    x = torch.tensor([-5.0, -2.0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([x], lr=lr, momentum=momentum)
    errors = [float(x.detach().norm())]
    for _ in range(steps):
        opt.zero_grad()
        (0.1 * x[0] ** 2 + 2 * x[1] ** 2).backward()
        opt.step()
        errors.append(float(x.detach().norm()))
    half = steps // 2
    return {
        "rate": max(abs(r) for r in roots),
        "measured rate": (errors[-1] / errors[half]) ** (1 / (steps - half)),
        f"error after {steps} steps": errors[-1],
    }


def expected(page: str, s: dict, names) -> dict:
    """lib's and torch's numbers for the setting ``s`` of the explorer on ``page`` that shows ``names``.

    A setting is worked out once: the state after one move is the state before the next.
    """
    return dict(_expected(page, tuple(sorted(s.items())), tuple(names)))


@functools.cache
def _expected(page: str, setting: tuple, names: tuple) -> tuple:
    return tuple(_reference(page, dict(setting), names).items())


def _reference(page: str, s: dict, names) -> dict:
    from lib import functions
    from lib.data import RUNNING_START, running_cost, running_example
    from lib.outliers import outlier_fits
    from lib.rates import heavy_ball_rate

    x, y = running_example()
    if page.endswith("01-why-optimize"):
        return {"cost": float(((s["slope"] * x + s["intercept"] - y) ** 2).mean())}
    if page.endswith("02-gradients-and-autodiff"):
        theta = torch.tensor([RUNNING_START["m"], RUNNING_START["b"]], dtype=torch.float64, requires_grad=True)
        (g,) = torch.autograd.grad(running_cost(theta), theta)
        a = math.radians(s["angle"])
        return {"slope along u": float(g[0] * math.cos(a) + g[1] * math.sin(a))}
    if page.endswith("03-cost-functions"):
        moved = y.clone()
        moved[int(s["index"])] = s["height"]
        fits = outlier_fits(x, moved, delta=s["delta"])
        names = {"mse": "MSE", "huber": "Huber", "mae": "MAE"}
        parts = (("slope", "m"), ("intercept", "b"))
        return {f"{names[k]} {part}": fit[key] for k, fit in fits.items() for part, key in parts}
    if page.endswith("04-critical-points"):
        end, value = _sgd(functions.bumpy(), [s["start"]], s["lr"], 40)
        return {"end x": float(end[0]), "f": value}
    if page.endswith("05-gradient-descent"):
        lr = 10.0 ** s["log10_lr"]
        _, value = _sgd(running_cost, [RUNNING_START["m"], RUNNING_START["b"]], lr, 200)
        return {"learning rate": lr, "final cost": value}
    if page.endswith("06-stochastic-gradient-descent"):
        return _batch_explorer(int(s["batch"]), s["lr"])
    if page.endswith("07-learning-rate-schedules"):
        return _schedule_explorer(s["schedule"], s["eta0"])
    if page.endswith("08-jacobians-hessians-newton"):
        f = functions.himmelblau()
        newton_end = _newton_end(f, [s["x0"], s["y0"]], 40)
        descent_end, _ = _sgd(f, [s["x0"], s["y0"]], 0.005, 200)
        return {
            "Newton x": float(newton_end[0]),
            "Newton y": float(newton_end[1]),
            "Newton reaches": _kind(f, newton_end),
            "descent x": float(descent_end[0]),
            "descent y": float(descent_end[1]),
            "descent reaches": _kind(f, descent_end),
        }
    if page.endswith("09-momentum") and "measured rate" in names:
        return _heavy_ball_plane(s["lr"], s["momentum"])
    if page.endswith("09-momentum"):
        return {"rate": heavy_ball_rate(s["lr"], s["momentum"], [0.2, 4.0])}
    if page.endswith("10-adaptive-methods"):
        courses = {
            "quadratic": (functions.quadratic(condition_number=50), [-5.0, 2.0]),
            "Rosenbrock": (functions.rosenbrock(), [-1.5, 2.5]),
            "saddle": (functions.saddle(), [1.0, 1e-3]),
            "ravine": (functions.ravine(), [-3.5, 1.5]),
        }
        f, x0 = courses[s["surface"]]
        options = {
            "SGD": (torch.optim.SGD, {"momentum": s["beta1"]}),
            "RMSprop": (torch.optim.RMSprop, {"alpha": s["beta2"]}),
            "Adam": (torch.optim.Adam, {"betas": (s["beta1"], s["beta2"])}),
            "Adagrad": (torch.optim.Adagrad, {}),
            "Adadelta": (torch.optim.Adadelta, {"rho": s["beta2"]}),
            "Adamax": (torch.optim.Adamax, {"betas": (s["beta1"], s["beta2"])}),
            "NAdam": (torch.optim.NAdam, {"betas": (s["beta1"], s["beta2"])}),
        }
        return {
            f"{name} final f": _torch_final(f, x0, options[name][0], 150, lr=s["lr"], **options[name][1])
            for name in s["lineup"].split(", ")
        }
    raise AssertionError(f"no reference for the explorer on {page}")


# ------------------------------------------------------------------------- tests


def test_every_tagged_explorer_is_on_its_page():
    found = {page: (SITE / f"{page}.html").read_text(encoding="utf-8").count('class="explorer"') for page in PAGES}
    assert found == EXPLORER_CELLS
    padded = [page for page in PAGES if "&quot;pad&quot;" in (SITE / f"{page}.html").read_text(encoding="utf-8")]
    assert padded == PADS


def _click_the_pad(page, root, data):
    """Click the picture where the second value of the pad's x slider and the second-last of
    its y slider are drawn; the sliders' positions it should set, and the state after."""
    pad, box = data["pad"], data["pad"]["box"]
    index = {c["name"]: k for k, c in enumerate(data["controls"])}
    want = list(root.evaluate(STATE_JS)["positions"])
    want[index[pad["x"]]] = 1
    want[index[pad["y"]]] = len(data["controls"][index[pad["y"]]]["values"]) - 2

    def fraction(value, limits, log):
        if log:
            value, limits = math.log(value), [math.log(v) for v in limits]
        return (value - limits[0]) / (limits[1] - limits[0])

    fx = fraction(data["controls"][index[pad["x"]]]["values"][1], box["xlim"], box.get("xlog"))
    fy = fraction(data["controls"][index[pad["y"]]]["values"][-2], box["ylim"], box.get("ylog"))
    before = root.evaluate(STATE_JS)
    rect = root.query_selector("img").bounding_box()
    x = rect["x"] + rect["width"] * (box["left"] + fx * (box["right"] - box["left"]))
    y = rect["y"] + rect["height"] * (box["bottom"] - fy * (box["bottom"] - box["top"]))
    page.mouse.click(x, y)
    page.wait_for_function(
        "([r, src]) => { const i = r.querySelector('img'); return i.src !== src && i.complete; }",
        arg=[root, before["src"]],
        timeout=TIMEOUT_MS,
    )
    return data, want, root.evaluate(STATE_JS)


@pytest.fixture(scope="module")
def visits(browser, base_url):
    """Each explorer page, driven: for every explorer, every control moved once."""
    results = {}
    for page_name in PAGES:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        errors, requests = [], []
        page.on("console", lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
        page.on("request", lambda r, requests=requests: requests.append(r.url))
        page.goto(f"{base_url}{page_name}.html", wait_until="load", timeout=TIMEOUT_MS)
        moves, clicks = [], []
        for root in page.query_selector_all(".explorer"):
            root.scroll_into_view_if_needed()
            data = json.loads(root.get_attribute("data-explorer"))
            page.wait_for_function("(r) => r.querySelector('img').complete", arg=root, timeout=TIMEOUT_MS)
            for control in root.query_selector_all("[data-control]"):
                before = root.evaluate(STATE_JS)
                if control.evaluate("(e) => e.tagName") == "SELECT":
                    count = control.evaluate("(e) => e.options.length")
                    control.select_option(str((int(control.input_value()) + 1) % count))
                else:
                    at_end = control.evaluate("(e) => e.value === e.max")
                    control.focus()
                    control.press("ArrowLeft" if at_end else "ArrowRight")
                page.wait_for_function(  # two settings may draw the same figure: the same file
                    "([r, frame]) => r.dataset.frame !== frame && r.querySelector('img').complete",
                    arg=[root, before["frame"]],
                    timeout=TIMEOUT_MS,
                )
                after = root.evaluate(STATE_JS)
                moves.append((control.get_attribute("data-control"), data, before, after))
            if data.get("pad"):
                clicks.append(_click_the_pad(page, root, data))
        results[page_name] = {"moves": moves, "clicks": clicks, "errors": errors, "requests": requests}
        context.close()
    return results


@pytest.mark.parametrize("page_name", PAGES)
def test_each_control_redraws_the_figure(visits, page_name):
    moves = visits[page_name]["moves"]
    assert moves, f"{page_name}: no control moved"
    for name, data, before, after in moves:
        # the figure shown is the new setting's (two settings that draw the same figure,
        # such as a run that diverges off the chart either way, share one file)
        assert after["src"].endswith(data["frames"][int(after["frame"])].rsplit("/", 1)[1]), name
        assert after["frame"] != before["frame"], name
        assert after["loaded"], f"{page_name}: the figure for {name} did not load"
        assert after["positions"] != before["positions"], name


@pytest.mark.parametrize("page_name", PAGES)
def test_the_numbers_shown_are_libs(visits, page_name):
    """Before and after each move, the page's numbers equal lib's for the setting on show."""
    for _, data, before, after in visits[page_name]["moves"]:
        for state in (before, after):
            want = expected(page_name, _settings(data, state["positions"]), state["values"])
            _assert_equal(state["values"], want, (page_name, state["positions"]))
            first = next(iter(state["values"]))
            assert state["readout"].startswith(first), state["readout"]


@pytest.mark.parametrize("page_name", PADS)
def test_a_click_on_the_picture_moves_the_pad_sliders(visits, page_name):
    """A click where a setting is drawn selects that setting, and the numbers follow."""
    assert page_name in visits, f"{page_name}: no explorer with a pad on the site"
    assert visits[page_name]["clicks"], f"{page_name}: no pad was clicked"
    for data, want, after in visits[page_name]["clicks"]:
        assert after["positions"] == want
        assert after["loaded"]
        reference = expected(page_name, _settings(data, want), after["values"])
        _assert_equal(after["values"], reference, (page_name, want))


@pytest.mark.parametrize("page_name", PAGES)
def test_explorers_need_no_kernel_and_nothing_from_elsewhere(visits, page_name):
    visit = visits[page_name]
    assert visit["errors"] == []
    hosts = {urllib.parse.urlsplit(url).hostname for url in visit["requests"] if not url.startswith("data:")}
    assert hosts <= {"127.0.0.1", "localhost"}, hosts
    assert not any("/api/kernels" in url or "embed.js" in url for url in visit["requests"])
