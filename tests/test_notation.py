"""The update rules lib's optimizers print use the symbols of the notation page, one meaning each."""

from __future__ import annotations

import inspect
import json
import pathlib
import re

import pytest

from lib import optimizers

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGE = (ROOT / "notation.md").read_text()
GREEK = re.compile(r"[\u0370-\u03ff]")
LATEX_GREEK = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "eta": "η", "theta": "θ",
    "kappa": "κ", "lambda": "λ", "mu": "μ", "nu": "ν", "rho": "ρ", "sigma": "σ", "tau": "τ",
    "psi": "ψ", "omega": "ω", "Delta": "Δ", "ell": "ℓ",
}  # fmt: skip


def page_symbols() -> set[str]:
    """Greek letters defined in the first column of the page's tables (plus its named local ones)."""
    found = set()
    for line in PAGE.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            first = line.split("|")[1]
            found |= {LATEX_GREEK[name] for name in re.findall(r"\\([A-Za-z]+)", first) if name in LATEX_GREEK}
    return found


def update_rule(cls) -> str:
    doc = inspect.getdoc(cls)
    rule = doc[doc.index("::") :].split("\n\n")[1] if "::" in doc else ""
    return doc.split("::")[0] + "\n" + rule


def test_the_page_defines_the_core_symbols_once():
    symbols = page_symbols()
    assert {"η", "β", "ρ", "ε", "ω", "λ", "κ", "θ", "τ", "ψ", "ν"} <= symbols
    assert "γ" not in symbols  # no second learning rate
    assert "α" not in symbols  # no second decay rate


@pytest.mark.parametrize("name", optimizers.NAMES)
def test_printed_update_rule_uses_the_page_symbols(name):
    rule = update_rule(getattr(optimizers, name))
    used = set(GREEK.findall(rule))
    assert used, f"{name}: no update rule found in its docstring"
    unknown = used - page_symbols()
    assert not unknown, f"{name}'s update rule uses {sorted(unknown)}, which the notation page does not define"


@pytest.mark.parametrize("name", optimizers.NAMES)
def test_learning_rate_and_weight_decay_are_named_as_on_the_page(name):
    doc = inspect.getdoc(getattr(optimizers, name))
    if "lr=" in doc:
        assert "learning rate η" in doc or "− η" in doc, name
    if "weight_decay=" in doc:
        assert "weight decay ω" in doc or "ω θ" in doc or "ηω" in doc, name


# --- The chapters' own symbols (chapters 1 to 6 and the maths page) -------------------------------

PARTS_ONE_AND_TWO = sorted((ROOT / "chapters").glob("0[1-6]-*.ipynb")) + sorted(
    (ROOT / "chapters").glob("maths-you-need.ipynb")
)
MATH = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$", re.S)


def math_spans(path: pathlib.Path) -> list[str]:
    """Every $…$ and $$…$$ of a notebook: its prose and the labels its code draws."""
    spans = []
    for cell in json.loads(path.read_text())["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "code":
            source = source.replace("\\\\", "\\")  # a label "$\\hat y$" is the maths $\hat y$
        spans += [a or b for a, b in MATH.findall(source)]
    return spans


def letters(span: str) -> set[str]:
    """The one-letter symbols of a maths span, once commands and their text are removed."""
    span = re.sub(r"\\(?:text|operatorname|mathrm)\{[^}]*\}", " ", span)
    span = re.sub(r"\\[A-Za-z]+", " ", span)
    return set(re.findall(r"(?<![A-Za-z])[A-Za-z](?![A-Za-z])", span))


def prose(path: pathlib.Path) -> str:
    cells = json.loads(path.read_text())["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def test_the_tests_read_the_chapters():
    assert len(PARTS_ONE_AND_TWO) >= 6
    assert "e" in letters(r"\lvert e\rvert + \operatorname{clip}(e, -\delta, \delta)")
    assert letters(r"\operatorname{huber}_\delta \text{rate}") == set()


def test_the_page_defines_the_error_the_noise_and_the_finite_difference_step():
    assert r"e_i = \hat y_i - y_i" in PAGE  # prediction minus target
    assert r"\xi_i" in PAGE
    assert "noise" in PAGE
    assert r"\operatorname{huber}_\delta" in PAGE
    assert r"h_\delta" not in PAGE
    assert "finite difference" in PAGE


@pytest.mark.parametrize("path", PARTS_ONE_AND_TWO, ids=lambda p: p.stem)
def test_an_error_is_prediction_minus_target(path):
    """Chapter 1 defines e_i = ŷ_i − y_i; no chapter writes the other sign as an error."""
    for span in math_spans(path):
        assert not re.search(r"(?<![\\\w])y(_i)?\s*-\s*\\hat\s*\{?y", span), f"{path.name}: ${span}$"
    assert "answer minus prediction" not in prose(path)


@pytest.mark.parametrize("path", PARTS_ONE_AND_TWO, ids=lambda p: p.stem)
def test_r_is_not_a_residual(path):
    """r is the page's rate of convergence; these chapters write an error e, never r."""
    for span in math_spans(path):
        assert "r" not in letters(span), f"{path.name}: ${span}$"


@pytest.mark.parametrize("path", PARTS_ONE_AND_TWO, ids=lambda p: p.stem)
def test_epsilon_is_only_the_division_guard(path):
    """ε guards a division (torch's eps); noise is ξ and float64's spacing is written 2⁻⁵²."""
    for span in math_spans(path):
        assert not re.search(r"\\(var)?epsilon|ε", span), f"{path.name}: ${span}$"


@pytest.mark.parametrize("path", PARTS_ONE_AND_TWO, ids=lambda p: p.stem)
def test_h_is_only_the_finite_difference_step(path):
    """h is chapter 2's finite-difference step: not hours, and Huber's loss is huber_δ."""
    spans = math_spans(path)
    assert not any(r"h_\delta" in span for span in spans), path.name
    if path.name != "02-gradients-and-autodiff.ipynb":
        for span in spans:
            assert "h" not in letters(span), f"{path.name}: ${span}$"
