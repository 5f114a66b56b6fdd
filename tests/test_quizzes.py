"""The chapters' quizzes: every marked answer is the right one, every answer is explained.

Each numeric answer of ``chapters/quizzes/*.yaml`` is computed again here, from ``lib``,
torch or the closed form the chapter teaches, and some multiple-choice answers too (the
choice whose text the computation picks). The browser side, clicks and keys on the built
site, is in ``tests/test_site_quizzes.py``.
"""

from __future__ import annotations

import json
import math
import re

import pytest
import torch

from lib import losses, rates, second_order
from lib.data import running_cost, running_example
from lib.optimizers import SGD, Adafactor, Adam, RMSprop
from lib.quiz import MATHS, Quiz, load_quizzes, mathtext_svg, quiz
from lib.schedules import CosineAnnealingLR, ExponentialLR, lr_sequence

CHAPTERS = [f"{n:02d}" for n in range(1, 13)]
CALL = re.compile(r'quiz\("([\w-]+)", "([\w-]+)"\)')


def chapter_names(root) -> list[str]:
    return sorted(path.stem for path in (root / "chapters").glob("[01][0-9]-*.ipynb") if path.stem[:2] in CHAPTERS)


def all_questions(root):
    for chapter in chapter_names(root):
        for name, questions in load_quizzes(chapter).items():
            for question in questions:
                yield chapter, name, question


def _cost_hessian() -> torch.Tensor:
    return torch.autograd.functional.hessian(running_cost, torch.tensor([0.9, 0.1], dtype=torch.float64))


def _gradient_at_start() -> torch.Tensor:
    theta = torch.tensor([0.9, 0.1], dtype=torch.float64, requires_grad=True)
    running_cost(theta).backward()
    return theta.grad


def _point_loss(index: int, m=0.9, b=0.1):
    x, y = running_example()
    slope = torch.tensor(m, dtype=torch.float64, requires_grad=True)
    loss = losses.mse(slope * x[index : index + 1] + b, y[index : index + 1])
    loss.backward()
    return loss.item(), slope.grad.item()


def _sgd_on_square(lr: float, steps: int, x0: float = 10.0) -> float:
    x = torch.tensor([x0], dtype=torch.float64, requires_grad=True)
    optimizer = SGD([x], lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        (x**2).sum().backward()
        optimizer.step()
    return x.item()


def _steps_near_saddle(y0: float, lr: float = 0.1, radius: float = 0.1) -> int:
    point, count = torch.tensor([1.0, y0], dtype=torch.float64), 0
    for _ in range(1000):
        point = point - lr * torch.tensor([2 * point[0], -2 * point[1]])
        count += bool(point.norm() < radius)
    return count


def _first_step(optimizer_class, grad: float, **options) -> float:
    param = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = optimizer_class([param], **options)
    param.grad = torch.full_like(param, grad)
    optimizer.step()
    return abs(param.item())


def _clipped_step(norm: float, clip: float, lr: float) -> float:
    param = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    param.grad = torch.tensor([0.6, 0.8], dtype=torch.float64) * norm
    torch.nn.utils.clip_grad_norm_([param], clip)
    SGD([param], lr=lr).step()
    return param.norm().item()


def _state_numbers(optimizer_class, shape) -> int:
    """How many numbers ``optimizer_class`` keeps for a parameter of ``shape`` (its step counter aside)."""
    param = torch.zeros(shape, requires_grad=True)
    param.grad = torch.ones(shape)
    optimizer = optimizer_class([param])
    optimizer.step()
    return sum(value.numel() for key, value in optimizer.state[param].items() if key != "step")


def _first_below(rates_, level: float) -> int:
    return next(t for t, rate in enumerate(rates_) if rate <= level)


ANSWERS = {
    ("01-why-optimize", "loss-of-one-point"): lambda: _point_loss(7)[0],
    ("01-why-optimize", "solve-against-steps"): lambda: (1e4 * 1e3**2 + 1e3**3) / (1e4 * 1e3),
    ("01-why-optimize", "memory"): lambda: 8 * 100_000**2 / 1e9,
    ("02-gradients-and-autodiff", "one-point-slope"): lambda: _point_loss(3)[1],
    ("02-gradients-and-autodiff", "slope-at-an-angle"): lambda: (
        _gradient_at_start().norm().item() * math.cos(math.radians(60))
    ),
    ("03-cost-functions", "mse-of-four"): lambda: losses.mse(torch.tensor([-5.0, 5, 0, 10]), torch.zeros(4)).item(),
    ("03-cost-functions", "huber-pull"): lambda: losses.huber_grad(
        torch.tensor([3.0]), torch.zeros(1), delta=1.0, reduction="sum"
    ).item(),
    ("03-cost-functions", "loss-of-a-probability"): lambda: losses.cross_entropy(
        torch.tensor([[0.25, 0.75]]).log(), torch.tensor([0])
    ).item(),
    ("04-critical-points", "minimum-of-a-parabola"): lambda: second_order.newton_step(
        lambda v: 2 * v[..., 0] ** 2 - 8 * v[..., 0] + 3, [0.0]
    ).item(),
    ("04-critical-points", "closer-start"): lambda: _steps_near_saddle(1e-9),
    ("05-gradient-descent", "ten-steps"): lambda: _sgd_on_square(0.2, 10),
    ("05-gradient-descent", "largest-stable"): lambda: second_order.largest_stable_learning_rate(_cost_hessian()),
    ("05-gradient-descent", "best-rate"): lambda: rates.gd_optimal(1.0, 9.0).rate,
    ("05-gradient-descent", "centred-rate"): lambda: rates.gd_optimal(2.0, 10.5).lr,
    ("06-stochastic-gradient-descent", "steps-per-epoch"): lambda: 8_000_000 * (1 - 0.2) / 32,
    ("06-stochastic-gradient-descent", "half-the-noise"): lambda: 32 * 2**2,
    ("07-learning-rate-schedules", "half-life"): lambda: _first_below(
        lr_sequence(lambda opt: ExponentialLR(opt, gamma=0.995), 300), 0.5
    ),
    ("07-learning-rate-schedules", "cosine-quarter"): lambda: lr_sequence(
        lambda opt: CosineAnnealingLR(opt, T_max=400), 401, lr=0.1
    )[100],
    ("07-learning-rate-schedules", "adam-first-step"): lambda: _first_step(Adam, 50.0, lr=0.001),
    ("08-jacobians-hessians-newton", "condition-number"): lambda: second_order.condition_number(_cost_hessian()),
    ("08-jacobians-hessians-newton", "newton-on-x4"): lambda: second_order.newton_step(
        lambda v: v[..., 0] ** 4, [1.0]
    ).item(),
    ("09-momentum", "memory-length"): lambda: 1 / (1 - 0.98),
    ("09-momentum", "bias-correction"): lambda: (0.9 * 0 + 0.1 * 5) / (1 - 0.9),
    ("09-momentum", "heavy-ball-rate"): lambda: rates.heavy_ball_optimal(1.0, 100.0).rate,
    ("09-momentum", "steps-per-digit"): lambda: math.log(10) / -math.log(rates.gd_optimal(1.0, 100.0).rate),
    ("10-adaptive-methods", "rmsprop-first-step"): lambda: _first_step(RMSprop, 3.0, lr=1.0, alpha=0.99, eps=0.0),
    ("10-adaptive-methods", "clipped-step"): lambda: _clipped_step(50.0, 1.0, 0.1),
    ("11-neurons-and-deep-nets", "xavier-std"): lambda: math.sqrt(2 / (784 + 128)),
    ("11-neurons-and-deep-nets", "initial-loss"): lambda: losses.cross_entropy(
        torch.zeros(1, 10), torch.tensor([3])
    ).item(),
    ("11-neurons-and-deep-nets", "ten-relu-layers"): lambda: (256 * (2 / (256 + 256)) / 2) ** 10,
    ("12-optimizers-for-large-models", "adam-state-gb"): lambda: _state_numbers(Adam, (6, 5)) / 30 * 4 * 1.5e9 / 1e9,
    ("12-optimizers-for-large-models", "adafactor-numbers"): lambda: _state_numbers(Adafactor, (4096, 1024)),
}
"""Each numeric question, computed again."""


def _gd_factor_flips_and_converges(text: str) -> bool:
    eta = float(re.search(r"= ([\d.]+)", text)[1])
    factor = 1 - 2 * eta
    return -1 < factor < 0 and abs(_sgd_on_square(eta, 50)) < abs(_sgd_on_square(eta, 49)) < 10


def _eigenvalue_signs(matrix) -> str:
    signs = {bool(v > 0) for v in torch.linalg.eigvalsh(torch.tensor(matrix, dtype=torch.float64))}
    return "A saddle" if signs == {True, False} else ("A minimum" if signs == {True} else "A maximum")


def _momentum_choice() -> str:
    curvatures = [0.2, 4.0]
    assert rates.gd_rate(0.6, curvatures) > 1  # gradient descent diverges at this rate
    return "It converges" if rates.heavy_ball_rate(0.6, 0.5, curvatures) < 1 else "It diverges"


def _logit_gradient() -> str:
    logits = torch.tensor([[0.7, 0.2, 0.1]], dtype=torch.float64).log()
    grad = losses.cross_entropy_grad(logits, torch.tensor([0]))[0]
    return "$(" + ",\\ ".join(f"{g:.1f}" for g in grad.tolist()) + ")$"


def _jacobian_shape() -> str:
    layer = torch.nn.Linear(784, 128)
    rows, columns = torch.autograd.functional.jacobian(layer, torch.zeros(784)).shape
    return f"${rows} \\times {columns}$"


def _sum_gradient() -> str:
    theta = torch.tensor([0.9, 0.1], dtype=torch.float64, requires_grad=True)
    x, y = running_example()
    losses.mse(theta[0] * x + theta[1], y, reduction="sum").backward()
    return "$(" + ",\\ ".join(f"{g:.2f}" for g in theta.grad.tolist()) + ")$"


CHOICES = {
    ("05-gradient-descent", "sign-flips"): lambda choices: [_gd_factor_flips_and_converges(c) for c in choices],
    ("04-critical-points", "positive-diagonal"): lambda choices: [
        c == _eigenvalue_signs([[2.0, 4.0], [4.0, 2.0]]) for c in choices
    ],
    ("04-critical-points", "mixed-eigenvalues"): lambda choices: [
        c == _eigenvalue_signs([[3.0, 0.0], [0.0, -0.5]]) for c in choices
    ],
    ("09-momentum", "momentum-rescues"): lambda choices: [c == _momentum_choice() for c in choices],
    ("03-cost-functions", "logit-gradient"): lambda choices: [c == _logit_gradient() for c in choices],
    ("08-jacobians-hessians-newton", "layer-shape"): lambda choices: [c == _jacobian_shape() for c in choices],
    ("02-gradients-and-autodiff", "sum-not-mean"): lambda choices: [c == _sum_gradient() for c in choices],
}
"""Multiple-choice questions whose right choice a computation picks: choice texts -> which are right."""


def test_every_chapter_has_a_quiz_file_of_four_to_eight_questions(root):
    names = chapter_names(root)
    assert [name[:2] for name in names] == CHAPTERS
    for chapter in names:
        count = sum(len(questions) for questions in load_quizzes(chapter).values())
        assert 4 <= count <= 8, f"{chapter}: {count} questions"


def _quiz_cells(root, chapter):
    cells = json.loads((root / "chapters" / f"{chapter}.ipynb").read_text())["cells"]
    shown = [(i, c) for i, c in enumerate(cells) if c["cell_type"] == "code" and CALL.search("".join(c["source"]))]
    return cells, shown


def test_each_quiz_is_shown_once_where_its_idea_is_taught(root):
    for chapter in chapter_names(root):
        cells, shown = _quiz_cells(root, chapter)
        assert 1 <= len(shown) <= 3, f"{chapter}: {len(shown)} quiz cells"
        names = [CALL.search("".join(cell["source"])).groups() for _, cell in shown]
        assert all(name[0] == chapter for name in names), f"{chapter} shows another chapter's quiz: {names}"
        assert sorted(name for _, name in names) == sorted(load_quizzes(chapter)), chapter
        exercises = next(i for i, c in enumerate(cells) if "\n## Exercises" in "\n" + "".join(c["source"]))
        for index, cell in shown:
            assert index < exercises, f"{chapter}: a quiz in the Exercises section"
            assert cell["metadata"].get("tags") == ["remove-input"], f"{chapter} {cell['id']}: tag it remove-input"
            # a figure's caption is the paragraph right after its cell: a quiz never comes between them
            before = next(c for c in reversed(cells[:index]) if "remove-cell" not in c["metadata"].get("tags", []))
            after = "".join(cells[index + 1]["source"])
            assert before["cell_type"] == "markdown" or after.startswith("#"), f"{chapter} {cell['id']}"


@pytest.mark.parametrize(("chapter", "question_id"), sorted(ANSWERS))
def test_numeric_answer_is_recomputed(chapter, question_id):
    question = next(q for qs in load_quizzes(chapter).values() for q in qs if q["id"] == question_id)
    computed = ANSWERS[chapter, question_id]()
    assert abs(computed - question["answer"]) <= question["tolerance"], (question["answer"], computed)
    for mistake in question.get("mistakes", []):
        assert abs(computed - mistake["value"]) > question["tolerance"], f"the mistake {mistake['value']} is right"


def test_every_numeric_question_is_recomputed(root):
    numeric = {(chapter, q["id"]) for chapter, _, q in all_questions(root) if "answer" in q}
    assert numeric == set(ANSWERS)


@pytest.mark.parametrize(("chapter", "question_id"), sorted(CHOICES))
def test_computed_choice_is_the_marked_one(chapter, question_id):
    question = next(q for qs in load_quizzes(chapter).values() for q in qs if q["id"] == question_id)
    right = CHOICES[chapter, question_id]([choice["text"] for choice in question["choices"]])
    assert right == [choice.get("correct", False) for choice in question["choices"]]


def test_every_answer_has_its_feedback_and_the_right_choice_moves(root):
    positions = []
    for chapter, name, question in all_questions(root):
        where = f"{chapter} {name} {question['id']}"
        if "choices" in question:
            choices = question["choices"]
            assert sum(c.get("correct", False) for c in choices) == 1, where
            assert all(len(c["feedback"].split()) >= 8 for c in choices), f"{where}: say why, in a sentence"
            assert len({c["feedback"] for c in choices}) == len(choices), f"{where}: one explanation per choice"
            positions.append([c.get("correct", False) for c in choices].index(True))
        else:
            feedback = [question["feedback"], question["otherwise"], *(m["feedback"] for m in question["mistakes"])]
            assert question["mistakes"], f"{where}: name at least one likely mistake"
            assert all(len(text.split()) >= 6 for text in feedback), where
    assert len(set(positions)) >= 3, "the right choice should not always sit in the same place"


def test_every_formula_draws_in_a_kernel(root):
    for chapter, name, question in all_questions(root):
        texts = [question["question"], *(c[k] for c in question.get("choices", []) for k in ("text", "feedback"))]
        texts += [question.get("feedback", ""), question.get("otherwise", "")]
        texts += [m["feedback"] for m in question.get("mistakes", [])]
        for tex in (formula for text in texts for formula in MATHS.findall(text)):
            assert mathtext_svg(tex).startswith("<svg "), f"{chapter} {name} {question['id']}: {tex}"


def test_quiz_html_has_a_control_and_an_explanation_for_every_answer():
    shown = quiz("05-gradient-descent", "learning-rate")
    page = shown.html()
    assert page.count('class="quiz-choice"') == len(shown.questions[0]["choices"])
    assert page.count("<input ") == sum("answer" in q for q in shown.questions)
    for question in shown.questions:
        count = len(question["choices"]) if "choices" in question else 3 + len(question["mistakes"])
        block = page.split(f'id="quiz-05-learning-rate-{question["id"]}"')[1].split('class="quiz-question"')[0]
        assert block.count('class="quiz-answer') == count, question["id"]
        assert block.count(" hidden>") == count  # every explanation waits for its answer
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))
    assert not re.search(r'(?:src|href)="(?:https?:)?//', page)  # nothing fetched from another host
    assert "$" not in re.sub(r"<svg.*?</svg>", "", page, flags=re.DOTALL)  # every formula drawn


def test_the_build_gets_tex_it_can_typeset():
    site_kernel = pytest.importorskip("site_kernel")
    page = quiz("09-momentum", "rates").html(maths=site_kernel.tex_for_the_build)
    assert '<span class="math notranslate nohighlight">\\((\\sqrt{\\kappa} - 1)/' in page
    assert "<svg" not in page


def test_text_is_escaped_and_code_marked():
    shown = Quiz("t", "q", ({"id": "a", "question": "Is `x < y` <b>bold</b>?", "choices": []},))
    assert "<code>x &lt; y</code> &lt;b&gt;bold&lt;/b&gt;?" in shown.html(maths=str)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("q:\n  - id: a\n    question: Why?\n    choices:\n      - {text: A, feedback: f}\n", "2 to 6 answers"),
        (
            "q:\n  - id: a\n    question: Why?\n    choices:\n      - {text: A, feedback: f}\n"
            "      - {text: B, feedback: g}\n",
            "exactly one choice",
        ),
        (
            "q:\n  - id: a\n    question: Why?\n    choices:\n      - {text: A, feedback: f, correct: true}\n"
            "      - {text: B}\n",
            "feedback",
        ),
        ("q:\n  - id: a\n    question: How much?\n    answer: 1\n    tolerance: 0.1\n    feedback: f\n", "otherwise"),
        (
            "q:\n  - id: a\n    question: How much?\n    answer: 1\n    tolerance: 0.1\n    feedback: f\n"
            "    otherwise: o\n    mistakes:\n      - {value: 1.05, feedback: m}\n",
            "within the tolerance",
        ),
        ("q:\n  - id: a\n    question: Cost $x?\n    answer: 1\n    tolerance: 0.1\n", "unmatched"),
        ("q:\n  - id: Bad Id\n    question: Why?\n", "id must be"),
        ("q: [\n", "not valid YAML"),
    ],
)
def test_a_faulty_quiz_file_is_named(tmp_path, text, message):
    (tmp_path / "00-test.yaml").write_text(text)
    with pytest.raises(ValueError, match=message):
        load_quizzes("00-test", folder=tmp_path)


def test_an_unknown_quiz_is_named():
    with pytest.raises(ValueError, match="has no quiz 'nothing'; it has learning-rate"):
        quiz("05-gradient-descent", "nothing")
    with pytest.raises(ValueError, match="no quiz file"):
        quiz("99-nothing", "x")
