"""Quizzes: a few questions after the section that teaches their idea, each answer explained.

The questions of a chapter live in a data file beside it, ``chapters/quizzes/NN-name.yaml``,
as named quizzes (one per place in the chapter that shows one)::

    learning-rate:
      - id: ten-steps                  # names the question in tests and in the page
        question: From $x_0 = 10$ on $f(x) = x^2$, which learning rate ...?
        choices:
          - text: $\\eta = 0.05$
            feedback: Why this is not it: the misconception it shows.
          - text: $\\eta = 0.2$
            correct: true
            feedback: Why it is.
      - id: rate
        question: What is the rate ...?
        answer: 0.6                    # a number: right within ``tolerance``
        tolerance: 0.005
        feedback: Why 0.6 is right.
        mistakes:                      # wrong numbers a reader is likely to type, explained
          - value: 0.4
            feedback: That is the step size, not the rate.
        otherwise: What to reconsider, for any other number.

Text is plain prose with ``$...$`` maths and ```code```, best written as YAML's folded
blocks (``>-``), in which a blank line starts a paragraph.

``quiz("05-gradient-descent", "learning-rate")`` as the last line of a cell shows the quiz:
buttons for the choices, a box for a number, and under each question the feedback on the
reader's answer. The output is HTML with a short script (``quiz.js`` beside this module) and
style sheet (``quiz.css``), the same in Colab, JupyterLab and on the built site; nothing is
fetched from anywhere. In a kernel the maths is drawn by matplotlib's mathtext as inline
SVG, which needs no MathJax from the notebook's front end; :meth:`Quiz.html` takes another
way to write it (the book build writes the TeX for its own typesetting).
"""

from __future__ import annotations

import html
import io
import pathlib
import re
from collections.abc import Callable
from dataclasses import dataclass

from lib.validation import check_real

HERE = pathlib.Path(__file__).resolve().parent
QUIZ_FOLDER = HERE.parent / "chapters" / "quizzes"
SCRIPT = (HERE / "quiz.js").read_text(encoding="utf-8")
STYLE = (HERE / "quiz.css").read_text(encoding="utf-8")

CHOICE_KEYS = {"id", "question", "choices"}
NUMBER_KEYS = {"id", "question", "answer", "tolerance", "feedback", "mistakes", "otherwise"}
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
MATHS = re.compile(r"\$([^$]+)\$")
CODE = re.compile(r"`([^`]+)`")
UNREADABLE = "Type a number, such as 0.25, 1/4 or 2.5e-1."


@dataclass(frozen=True)
class Quiz:
    """The questions of one quiz of a chapter's data file, checked (see :func:`load_quizzes`)."""

    chapter: str
    name: str
    questions: tuple[dict, ...]

    def html(self, maths: Callable[[str], str] | None = None) -> str:
        """The quiz as HTML; ``maths`` writes the TeX between ``$...$`` (default: :class:`Mathtext`)."""
        if maths is not None:
            return quiz_html(self, maths)
        drawing = Mathtext(prefix=f"{quiz_id(self)}-glyph-")
        page = quiz_html(self, drawing)
        opening = f'<div class="quiz" id="{quiz_id(self)}">'
        return page.replace(opening, opening + drawing.glyph_sheet(), 1)

    def _repr_html_(self) -> str:
        return self.html()

    def __repr__(self) -> str:
        lines = [f"Quiz {self.chapter}: {self.name}"]
        for number, question in enumerate(self.questions, 1):
            lines.append(f"{number}. {question['question'].strip()}")
            for letter, choice in zip("abcdefgh", question.get("choices", ()), strict=False):
                lines.append(f"   ({letter}) {choice['text']}")
            if "answer" in question:
                lines.append("   (a number)")
        return "\n".join(lines)


def quiz(chapter: str, name: str) -> Quiz:
    """The quiz ``name`` of chapter ``chapter`` (the data file's name without ``.yaml``), to show."""
    quizzes = load_quizzes(chapter)
    if name not in quizzes:
        raise ValueError(f"name: chapter {chapter!r} has no quiz {name!r}; it has {', '.join(quizzes)}")
    return Quiz(chapter, name, quizzes[name])


def load_quizzes(chapter: str, folder: pathlib.Path | None = None) -> dict[str, tuple[dict, ...]]:
    """Every quiz of ``chapter``'s data file, by name, each question checked; ``ValueError`` names a fault."""
    import yaml

    if not isinstance(chapter, str):
        raise TypeError(f"chapter must be a file name such as '05-gradient-descent', got {chapter!r}")
    path = (folder or QUIZ_FOLDER) / f"{chapter}.yaml"
    if not path.is_file():
        raise ValueError(f"chapter: no quiz file {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ValueError(f"{path.name}: not valid YAML: {error}") from None
    if not isinstance(data, dict) or not data:
        raise ValueError(f"{path.name}: expected quizzes by name, each a list of questions")
    seen: set[str] = set()
    quizzes = {}
    for name, questions in data.items():
        if not (isinstance(name, str) and SLUG.fullmatch(name)):
            raise ValueError(f"{path.name}: quiz name {name!r} must be lower-case words joined by '-'")
        if not isinstance(questions, list) or not questions:
            raise ValueError(f"{path.name}: quiz {name!r} must be a non-empty list of questions")
        for question in questions:
            where = f"{path.name}: quiz {name!r}, question {question.get('id') if isinstance(question, dict) else '?'}"
            check_question(question, where)
            if question["id"] in seen:
                raise ValueError(f"{where}: the id is used twice in the file")
            seen.add(question["id"])
        quizzes[name] = tuple(questions)
    return quizzes


def _check_text(value, what: str, where: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: {what} must be non-empty text")
    if value.count("$") % 2:
        raise ValueError(f"{where}: {what} has an unmatched '$'")


def check_question(question, where: str) -> None:
    """Raise ``ValueError`` naming what is wrong with one question of a data file."""
    if not isinstance(question, dict):
        raise ValueError(f"{where}: a question must be a mapping")
    if not (isinstance(question.get("id"), str) and SLUG.fullmatch(question["id"])):
        raise ValueError(f"{where}: id must be lower-case words joined by '-'")
    _check_text(question.get("question"), "question", where)
    if "choices" in question:
        if set(question) - CHOICE_KEYS:
            raise ValueError(f"{where}: unknown keys {sorted(set(question) - CHOICE_KEYS)}")
        choices = question["choices"]
        if not isinstance(choices, list) or not 2 <= len(choices) <= 6:
            raise ValueError(f"{where}: choices must be a list of 2 to 6 answers")
        for choice in choices:
            if not isinstance(choice, dict) or set(choice) - {"text", "correct", "feedback"}:
                raise ValueError(f"{where}: each choice has text, feedback and, for the right one, correct: true")
            _check_text(choice.get("text"), "each choice's text", where)
            _check_text(choice.get("feedback"), f"the feedback of choice {choice.get('text')!r}", where)
            if not isinstance(choice.get("correct", False), bool):
                raise ValueError(f"{where}: correct must be true or false")
        if sum(choice.get("correct", False) for choice in choices) != 1:
            raise ValueError(f"{where}: exactly one choice must be marked correct: true")
    elif "answer" in question:
        if set(question) - NUMBER_KEYS:
            raise ValueError(f"{where}: unknown keys {sorted(set(question) - NUMBER_KEYS)}")
        answer = check_real(f"{where}: answer", question["answer"])
        tolerance = check_real(f"{where}: tolerance", question.get("tolerance"), low=0.0, low_open=True)
        _check_text(question.get("feedback"), "feedback", where)
        _check_text(question.get("otherwise"), "otherwise (the feedback on any other number)", where)
        for mistake in question.get("mistakes", []):
            if not isinstance(mistake, dict) or set(mistake) != {"value", "feedback"}:
                raise ValueError(f"{where}: each mistake has a value and its feedback")
            value = check_real(f"{where}: a mistake's value", mistake["value"])
            if abs(value - answer) <= tolerance:
                raise ValueError(f"{where}: the mistake {value} is within the tolerance of the answer {answer}")
            _check_text(mistake["feedback"], f"the feedback of mistake {value}", where)
    else:
        raise ValueError(f"{where}: a question has either choices or a numeric answer")


MATHTEXT_SPELLING = {"lVert": "Vert", "rVert": "Vert", "le": "leq", "ge": "geq"}
"""TeX macros that mathtext knows by another name."""


class Mathtext:
    """Draws the maths of one quiz with :func:`mathtext_svg`, every glyph outline written once.

    Each drawing refers to its glyphs by an id that starts with ``prefix``; the outlines go
    in :meth:`glyph_sheet`, a hidden ``<svg>`` the page shows before the drawings.
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.glyphs: dict[str, str] = {}

    def __call__(self, tex: str) -> str:
        svg = mathtext_svg(tex)
        for path, glyph in re.findall(r'(<path id="([^"]+)"[^>]*/>)', svg):
            self.glyphs.setdefault(glyph, path.replace(f'id="{glyph}"', f'id="{self.prefix}{glyph}"', 1))
        svg = re.sub(r"<defs>.*?</defs>", "", svg)
        return svg.replace('xlink:href="#', f'xlink:href="#{self.prefix}')

    def glyph_sheet(self) -> str:
        paths = "".join(self.glyphs.values())
        return f'<svg class="quiz-glyphs" aria-hidden="true" style="display: none"><defs>{paths}</defs></svg>'


def mathtext_svg(tex: str) -> str:
    """``tex`` drawn by matplotlib's mathtext as inline SVG in the text's colour, named by its TeX."""
    from matplotlib import mathtext
    from matplotlib.font_manager import FontProperties

    spelled = re.sub(r"\\([a-zA-Z]+)", lambda m: "\\" + MATHTEXT_SPELLING.get(m[1], m[1]), tex)
    buffer = io.BytesIO()
    with _plain_svg():
        depth = mathtext.math_to_image(f"${spelled}$", buffer, prop=FontProperties(size=12), format="svg")
    svg = buffer.getvalue().decode("utf-8")
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", svg, flags=re.DOTALL)
    svg = re.sub(r"\s*<!--.*?-->", "", svg, flags=re.DOTALL)
    svg = re.sub(r"\s+", " ", svg).replace("> <", "><").strip()
    svg = re.sub(r' id="(?:figure|patch|text)_\d+"', "", svg)  # ids of matplotlib's groups, repeated
    svg = re.sub(r"<style[^>]*>.*?</style>", "", svg)  # a rule for every element of the page
    label = html.escape(tex, quote=True)
    style = f"vertical-align: -{depth:.1f}pt"
    return svg.replace("<svg ", f'<svg role="img" aria-label="{label}" fill="currentColor" style="{style}" ', 1)


def _plain_svg():
    from matplotlib import rc_context

    return rc_context({"savefig.transparent": True, "svg.hashsalt": "quiz", "mathtext.fontset": "dejavusans"})


def text_html(text: str, maths: Callable[[str], str], *, paragraphs: bool = False) -> str:
    """Prose with ``$...$`` maths and ```code``` as HTML; with ``paragraphs``, one ``<p>`` per line."""
    if paragraphs:
        blocks = [block.strip() for block in text.strip().split("\n") if block.strip()]
        return "".join(f"<p>{text_html(block, maths)}</p>" for block in blocks)
    pieces = []
    for index, piece in enumerate(MATHS.split(" ".join(text.split()))):
        if index % 2:
            pieces.append(maths(piece))
        else:
            pieces.append(CODE.sub(r"<code>\1</code>", html.escape(piece, quote=False)))
    return "".join(pieces)


def _feedback(key: str, right: bool, text: str, maths, value: float | None = None) -> str:
    data = "" if value is None else f' data-value="{value!r}"'
    verdict, kind = ("Right.", "quiz-answer quiz-right") if right else ("Not quite.", "quiz-answer")
    return (
        f'<div class="{kind}" data-key="{key}"{data} hidden><strong>{verdict}</strong> {text_html(text, maths)}</div>'
    )


def question_html(question: dict, number: int, prefix: str, maths) -> str:
    """One question: its prompt, its choices or number box, and the feedback on each answer, hidden."""
    qid = f"{prefix}-{question['id']}"
    prompt = (
        f'<div class="quiz-prompt" id="{qid}-prompt"><span class="quiz-number">{number}.</span>'
        f"{text_html(question['question'], maths, paragraphs=True)}</div>"
    )
    if "choices" in question:
        buttons, feedback = [], []
        for key, choice in enumerate(question["choices"]):
            buttons.append(
                f'<button type="button" class="quiz-choice" aria-pressed="false" data-key="{key}">'
                f"{text_html(choice['text'], maths)}</button>"
            )
            feedback.append(_feedback(str(key), choice.get("correct", False), choice["feedback"], maths))
        answer = f'<div class="quiz-choices" role="group" aria-labelledby="{qid}-prompt">{"".join(buttons)}</div>'
        kind = 'data-kind="choice"'
    else:
        tolerance = question["tolerance"]
        answer = (
            f'<div class="quiz-entry"><label for="{qid}-input">Your answer</label>'
            f'<input id="{qid}-input" type="text" inputmode="decimal" autocomplete="off" spellcheck="false">'
            f'<button type="button" class="quiz-check">Check</button></div>'
        )
        feedback = [_feedback("right", True, question["feedback"], maths)]
        for index, mistake in enumerate(question.get("mistakes", [])):
            feedback.append(_feedback(f"mistake-{index}", False, mistake["feedback"], maths, mistake["value"]))
        feedback.append(_feedback("otherwise", False, question["otherwise"], maths))
        feedback.append(_feedback("unreadable", False, UNREADABLE, maths))
        kind = f'data-kind="number" data-answer="{question["answer"]!r}" data-tolerance="{tolerance!r}"'
    return (
        f'<div class="quiz-question" id="{qid}" {kind}>{prompt}{answer}'
        f'<div class="quiz-feedback" aria-live="polite">{"".join(feedback)}</div></div>'
    )


def quiz_id(quiz: Quiz) -> str:
    """The id of the quiz's element; its questions' ids start with it."""
    return f"quiz-{quiz.chapter.split('-')[0]}-{quiz.name}"


def quiz_html(quiz: Quiz, maths: Callable[[str], str]) -> str:
    """The quiz's questions, its style sheet and the script that answers a click with its feedback."""
    prefix = quiz_id(quiz)
    count = len(quiz.questions)
    title = f"Check your understanding: {count} question{'s' if count > 1 else ''}"
    body = "".join(question_html(q, n, prefix, maths) for n, q in enumerate(quiz.questions, 1))
    return (
        f'<div class="quiz" id="{prefix}"><style>{STYLE}</style>'
        f'<p class="quiz-title">{title}</p>{body}<script>{SCRIPT}</script></div>'
    )
