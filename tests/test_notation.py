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


# The chapters' own prose follows the page too: each test below names a departure
# that a chapter once made.
CHAPTERS = ROOT / "chapters"
MATH_SPAN = re.compile(r"\$\$.*?\$\$|\$[^$\n]+\$", re.S)


def markdown(stem: str) -> str:
    """The markdown cells of chapters/<stem>*.ipynb, joined."""
    (path,) = CHAPTERS.glob(f"{stem}*.ipynb")
    cells = json.loads(path.read_text())["cells"]
    return "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def maths(stem: str) -> list[str]:
    """Every $...$ and $$...$$ of a chapter's prose."""
    return MATH_SPAN.findall(markdown(stem))


def offending(stem: str, pattern: str) -> list[str]:
    return [m for m in maths(stem) if re.search(pattern, m)]


def test_the_page_defines_the_schedule_velocity_and_step_average_symbols():
    rows = [line.split("|")[1] for line in PAGE.splitlines() if line.startswith("| $")]
    assert any("$T$" in row for row in rows)
    assert any("$T_w$" in row for row in rows)
    assert any(r"\Delta\theta_t" in row for row in rows)
    assert any(r"v^\Delta_t" in row for row in rows)
    local = PAGE[PAGE.index("Symbols not listed here") :]
    assert r"\gamma" in local  # chapter 7's own
    assert "$T_s$" in local


def test_chapter_7_counts_steps_from_1_and_names_its_symbols_as_the_page_does():
    assert not offending("07", r"\\eta_0"), "the base rate is η; η_0 would be a rate at step 0"
    assert not offending("07", r"t\s*=\s*0\b"), "steps are counted from t = 1"
    # the old table's interval s, warm-up length w and power p
    lone = offending("07", r"(?<![\\A-Za-z_{])[swp](?![A-Za-z])")
    assert not lone, lone


def test_chapter_8_writes_the_newton_step_and_the_secant_pair_without_s():
    # the step or secant pair written s (the page's AdaGrad sum) or y (a target);
    # naming the literature's letters in passing is fine
    uses = r"H\\,?\s*s\b|s_t\s*=|\(s_t,|\\,\s*s\s*=|\bs\s*\\approx|y_t\s*=|=\s*H\s*s_t"
    found = offending("08", uses)
    assert not found, f"s is AdaGrad's sum and y a target on the notation page: {found}"


def test_chapter_9_counts_steps_with_t_from_1_and_writes_theta():
    assert not offending("09", r"_\{?k|\^k|(?<![A-Za-z\\])k\b"), offending("09", r"_\{?k|\^k")
    assert not offending("09", r"(?<![A-Za-z\\])x_"), "the parameters are θ"
    assert not offending("09", r"\\lambda_[1n]\b|\\lambda_\{?n\}?"), "use λ_min and λ_max"
    assert not offending("09", r"\\text\{dampening\}"), "dampening is τ on the page"


def test_v_is_only_the_second_moment():
    for stem in ("09", "10"):
        found = offending(stem, r"v_\{?t[^=$]*=\s*\\beta\s*v_")  # an average or a velocity called v
        assert not found, (stem, found)
    assert not offending("09", r"(?<![A-Za-z\\])v_"), "chapter 9 has no second moment"


def test_u_is_only_adamax_maximum():
    doc = inspect.getdoc(optimizers.Adadelta)
    assert "u_" not in doc
    assert "v^Δ" in doc
    text = markdown("10")
    adadelta = text[text.index("## AdaDelta") : text.index("## Adam:")]
    assert "u_" not in adadelta, "Adadelta's step average is v^Δ_t"


def test_chapter_10_does_not_call_rmsprop_rho_beta_2():
    text = markdown("10")
    assert not re.search(r"\\beta_2\$ is[^.]*RMSProp", text)


def test_chapter_11_keeps_n_m_and_the_cost_symbols_for_what_the_page_says():
    text = markdown("11")
    assert not re.search(r"\$n\$ inputs|\$m\$\s+neurons|m \\times n\b", text)
    assert not offending("11", r"\\partial L|x_n\b|w_n\b"), "the loss is ℓ, a layer has n_in inputs"
