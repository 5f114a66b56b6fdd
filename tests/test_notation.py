"""The update rules lib's optimizers print use the symbols of the notation page, one meaning each."""

from __future__ import annotations

import inspect
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
