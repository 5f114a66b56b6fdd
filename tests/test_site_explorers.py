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

import json
import math
import urllib.parse

import pytest
import torch

from benchmarks.site import toc_pages
from tests.test_browser import SITE, TIMEOUT_MS

pytest_plugins = ["tests.test_browser"]

PAGES = [page for page in toc_pages() if 'class="explorer"' in (SITE / f"{page}.html").read_text(encoding="utf-8")]
EXPLORER_CELLS = {  # the chapters whose cells are tagged ``explorer``, so whose pages must hold one
    "chapters/01-why-optimize": 1,
    "chapters/02-gradients-and-autodiff": 1,
    "chapters/03-cost-functions": 1,
    "chapters/04-critical-points": 1,
    "chapters/05-gradient-descent": 1,
    "chapters/09-momentum": 1,
    "chapters/10-adaptive-methods": 1,
}

STATE_JS = """(root) => ({
  src: root.querySelector('img').currentSrc || root.querySelector('img').src,
  loaded: root.querySelector('img').complete && root.querySelector('img').naturalWidth > 0,
  frame: root.dataset.frame,
  values: JSON.parse(root.dataset.values),
  readout: root.querySelector('.explorer-readout').textContent,
  positions: [...root.querySelectorAll('[data-control]')].map(e => parseInt(e.value, 10)),
})"""


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


def expected(page: str, s: dict) -> dict:
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
        moves = []
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
                page.wait_for_function(
                    "([r, src]) => { const i = r.querySelector('img'); return i.src !== src && i.complete; }",
                    arg=[root, before["src"]],
                    timeout=TIMEOUT_MS,
                )
                after = root.evaluate(STATE_JS)
                moves.append((control.get_attribute("data-control"), data, before, after))
        results[page_name] = {"moves": moves, "errors": errors, "requests": requests}
        context.close()
    return results


@pytest.mark.parametrize("page_name", PAGES)
def test_each_control_redraws_the_figure(visits, page_name):
    moves = visits[page_name]["moves"]
    assert moves, f"{page_name}: no control moved"
    for name, _, before, after in moves:
        assert after["src"] != before["src"], name
        assert after["frame"] != before["frame"], name
        assert after["loaded"], f"{page_name}: the figure for {name} did not load"
        assert after["positions"] != before["positions"], name


@pytest.mark.parametrize("page_name", PAGES)
def test_the_numbers_shown_are_libs(visits, page_name):
    """Before and after each move, the page's numbers equal lib's for the setting on show."""
    for _, data, before, after in visits[page_name]["moves"]:
        for state in (before, after):
            want = expected(page_name, _settings(data, state["positions"]))
            assert state["values"] == pytest.approx(want, rel=1e-9, abs=1e-9), (page_name, state["positions"])
            first = next(iter(state["values"]))
            assert state["readout"].startswith(first), state["readout"]


@pytest.mark.parametrize("page_name", PAGES)
def test_explorers_need_no_kernel_and_nothing_from_elsewhere(visits, page_name):
    visit = visits[page_name]
    assert visit["errors"] == []
    hosts = {urllib.parse.urlsplit(url).hostname for url in visit["requests"] if not url.startswith("data:")}
    assert hosts <= {"127.0.0.1", "localhost"}, hosts
    assert not any("/api/kernels" in url or "embed.js" in url for url in visit["requests"])
