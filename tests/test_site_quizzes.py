"""The chapters' quizzes on the built site, in Chromium: they answer every click and key with its feedback.

Each chapter page is loaded once (served as in ``tests/test_browser.py``, every request to
another host aborted and recorded); then every choice of every multiple-choice question is
clicked, and the right answer, each named mistake, another number and a word are typed
into every numeric one, and the explanation shown is compared with the chapter's quiz file
(``chapters/quizzes/``). One choice and one number are answered from the keyboard alone
(Tab, Space, Enter). axe-core then checks the quizzes with their feedback showing.
The same HTML with maths drawn for a kernel (``lib.quiz``'s default) is checked the same
way from a file, as JupyterLab and Colab show it.
"""

from __future__ import annotations

import pytest

from lib.quiz import load_quizzes, quiz
from tests.site_tools import AXE, TIMEOUT_MS, toc_pages

pytestmark = pytest.mark.site

PAGES = [page for page in toc_pages() if page.split("/")[-1][:2] in {f"{n:02d}" for n in range(1, 13)}]

VISIBLE_ANSWERS_JS = """question => [...question.querySelectorAll('.quiz-answer')]
  .filter(answer => !answer.hidden && answer.getBoundingClientRect().height > 0)
  .map(answer => ({key: answer.dataset.key, text: answer.textContent}))"""


SHOWN_AND_PRESSED_JS = f"""question => [({VISIBLE_ANSWERS_JS})(question),
  [...question.querySelectorAll('.quiz-choice[aria-pressed="true"]')].map(b => b.dataset.key)]"""


def _shown(page, question_id: str) -> list[dict]:
    return page.locator(f"#{question_id}").evaluate(VISIBLE_ANSWERS_JS)


def _answer_every_question(page, chapter: str) -> dict:
    """Click and type every answer of the chapter's quizzes; what each one showed."""
    seen = {}
    for name, questions in load_quizzes(chapter).items():
        prefix = f"quiz-{chapter[:2]}-{name}"
        for question in questions:
            qid = f"{prefix}-{question['id']}"
            box = page.locator(f"#{qid}")
            box.scroll_into_view_if_needed()
            # The box is in view and nothing moves it: each click goes straight to the mouse
            # (force) without Playwright's wait for two still animation frames. A click that
            # lands on something else shows no explanation, and the check below fails.
            if "choices" in question:
                for key, choice in enumerate(question["choices"]):
                    box.locator(f'.quiz-choice[data-key="{key}"]').click(force=True)
                    shown, pressed = box.evaluate(SHOWN_AND_PRESSED_JS)
                    seen[qid, str(key)] = (shown, pressed, choice.get("correct", False))
            else:
                entry = box.locator("input")
                typed = [(repr(question["answer"]), "right")]
                typed += [(repr(m["value"]), f"mistake-{i}") for i, m in enumerate(question["mistakes"])]
                typed += [(repr(question["answer"] * 7 + 1234.5), "otherwise"), ("a lot", "unreadable")]
                for text, key in typed:
                    entry.fill(text)
                    box.locator(".quiz-check").click(force=True)
                    seen[qid, text] = (_shown(page, qid), key)
    return seen


def _keyboard(page) -> dict:
    """Answer one choice and one number with the keyboard alone."""
    result = {}
    first = page.locator(".quiz-choice").first
    first.focus()
    page.keyboard.press("Tab")
    focused = page.evaluate("() => document.activeElement.dataset.key")
    page.keyboard.press("Space")
    question = first.locator("xpath=ancestor::div[contains(@class, 'quiz-question')]")
    result["choice"] = (focused, question.evaluate(VISIBLE_ANSWERS_JS))
    numbers = page.locator('.quiz-question[data-kind="number"]')
    if numbers.count():
        box = numbers.first
        box.locator("input").focus()
        page.keyboard.press("Control+A")  # replace what the clicks above typed
        page.keyboard.type(box.get_attribute("data-answer"))
        page.keyboard.press("Enter")
        result["number"] = box.evaluate(VISIBLE_ANSWERS_JS)
    return result


def _visit(browser, url: str, chapter: str, allowed: str) -> dict:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    visit = {"external": [], "errors": []}

    def route(route):
        if route.request.url.startswith(allowed):
            route.continue_()
        else:
            visit["external"].append(route.request.url)
            route.abort()

    context.route("**/*", route)
    page.on("console", lambda message: message.type == "error" and visit["errors"].append(message.text))
    page.on("pageerror", lambda error: visit["errors"].append(f"uncaught: {error}"))
    page.goto(url, wait_until="load")
    visit["count"] = page.locator(".quiz-question").count()
    visit["raw_tex"] = page.locator(".quiz").evaluate_all(
        "quizzes => quizzes.filter(q => /\\\\\\(|\\$/.test(q.textContent)).length"
    )
    visit["drawn"] = page.locator(".quiz mjx-container, .quiz svg[role=img]").count()
    visit["answers"] = _answer_every_question(page, chapter)
    visit["keyboard"] = _keyboard(page)
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    results = page.evaluate("() => axe.run('.quiz', {resultTypes: ['violations']})")
    visit["violations"] = [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in results["violations"]]
    context.close()
    return visit


@pytest.fixture(scope="module")
def visits(browser, base_url):
    done = {}

    def get(page_name: str) -> dict:
        if page_name not in done:
            chapter = page_name.split("/")[-1]
            done[page_name] = _visit(browser, f"{base_url}{page_name}.html", chapter, base_url)
        return done[page_name]

    return get


def _check_answers(visit: dict) -> None:
    for key, seen in visit["answers"].items():
        if len(seen) == 3:  # a choice: its own explanation, its verdict, the button marked pressed
            shown, pressed, correct = seen
            assert [answer["key"] for answer in shown] == [key[1]], key
            assert shown[0]["text"].startswith("Right." if correct else "Not quite."), key
            assert pressed == [key[1]], key
        else:  # a number: the explanation for what was typed
            shown, expected = seen
            assert [answer["key"] for answer in shown] == [expected], key


def test_quiz_pages_are_the_twelve_chapters():
    assert len(PAGES) == 12


@pytest.mark.parametrize("page_name", PAGES)
def test_every_answer_shows_its_explanation(visits, page_name):
    visit = visits(page_name)
    chapter = page_name.split("/")[-1]
    assert visit["count"] == sum(len(questions) for questions in load_quizzes(chapter).values())
    _check_answers(visit)


@pytest.mark.parametrize("page_name", PAGES)
def test_quizzes_work_from_the_keyboard(visits, page_name):
    keyboard = visits(page_name)["keyboard"]
    focused, shown = keyboard["choice"]
    assert focused == "1", "Tab from the first choice goes to the second"
    assert [answer["key"] for answer in shown] == ["1"], "Space on a focused choice shows its explanation"
    if "number" in keyboard:
        assert [answer["key"] for answer in keyboard["number"]] == ["right"], "Enter checks a typed number"


@pytest.mark.parametrize("page_name", PAGES)
def test_quiz_maths_is_typeset_at_build_time(visits, page_name):
    visit = visits(page_name)
    assert visit["raw_tex"] == 0, "TeX left in a quiz"
    assert visit["drawn"] > 0


@pytest.mark.parametrize("page_name", PAGES)
def test_quizzes_pass_axe_and_ask_no_other_host(visits, page_name):
    visit = visits(page_name)
    assert visit["violations"] == []
    assert visit["external"] == []
    assert visit["errors"] == []


def test_a_kernel_quiz_works_from_a_file(browser, tmp_path):
    """The kernel's HTML (maths drawn by mathtext), as JupyterLab or Colab shows it: no site around it."""
    chapter = "05-gradient-descent"
    body = "".join(quiz(chapter, name).html() for name in load_quizzes(chapter))
    path = tmp_path / "kernel.html"
    path.write_text(f'<!doctype html><html lang="en"><title>quiz</title><main>{body}</main></html>')
    visit = _visit(browser, path.as_uri(), chapter, path.as_uri())
    assert visit["raw_tex"] == 0
    assert visit["drawn"] > 0
    _check_answers(visit)
    assert visit["keyboard"]["choice"][1][0]["key"] == "1"
    assert visit["violations"] == []
    assert visit["external"] == []
    assert visit["errors"] == []
