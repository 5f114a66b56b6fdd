// The quizzes of lib/quiz.py: a click, Enter or Space on an answer shows the feedback on it.
// Inlined after every quiz (Colab shows each output in a frame of its own); wiring a quiz
// twice does nothing, so a page with several quizzes runs this once per quiz harmlessly.
(() => {
  function readNumber(text) {
    const parts = text.trim().replace(/\u2212/g, "-").replace(",", ".").split("/");
    if (parts.length > 2 || parts.some((part) => part.trim() === "")) return null;
    const values = parts.map(Number);
    if (values.some((value) => !Number.isFinite(value))) return null;
    if (values.length === 2) return values[1] === 0 ? null : values[0] / values[1];
    return values[0];
  }

  function show(question, key) {
    for (const answer of question.querySelectorAll(".quiz-answer")) {
      answer.hidden = answer.dataset.key !== key;
    }
  }

  function choose(button) {
    const question = button.closest(".quiz-question");
    for (const choice of question.querySelectorAll(".quiz-choice")) {
      choice.setAttribute("aria-pressed", String(choice === button));
    }
    show(question, button.dataset.key);
  }

  function check(question) {
    const value = readNumber(question.querySelector("input").value);
    const tolerance = Number(question.dataset.tolerance);
    const near = (target) => Math.abs(value - Number(target)) <= tolerance;
    let key = "otherwise";
    if (value === null) key = "unreadable";
    else if (near(question.dataset.answer)) key = "right";
    else {
      const mistake = [...question.querySelectorAll(".quiz-answer[data-value]")].find((a) => near(a.dataset.value));
      if (mistake) key = mistake.dataset.key;
    }
    show(question, key);
  }

  function wire(quiz) {
    if (!quiz || quiz.dataset.ready) return;
    quiz.dataset.ready = "true";
    quiz.addEventListener("click", (event) => {
      const button = event.target.closest("button");
      if (!button || !quiz.contains(button)) return;
      if (button.classList.contains("quiz-choice")) choose(button);
      else if (button.classList.contains("quiz-check")) check(button.closest(".quiz-question"));
    });
    quiz.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && event.target.matches(".quiz-entry input")) {
        event.preventDefault();
        check(event.target.closest(".quiz-question"));
      }
    });
  }

  const script = document.currentScript;
  wire(script && script.closest(".quiz"));
  document.querySelectorAll(".quiz").forEach(wire);
})();
