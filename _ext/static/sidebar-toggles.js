/* The menu and the "On this page" buttons open their sidebars on a phone.
 *
 * Workaround for pydata/pydata-sphinx-theme#2451 (pydata-sphinx-theme 0.17, with
 * sphinx-book-theme 1.3.0, as constraints.txt locks them): the theme binds its sidebar
 * handlers to the first element of class primary-toggle (and secondary-toggle) it finds,
 * a hidden copy in the header, so the buttons a reader sees do nothing. A click on any
 * other copy, by touch, mouse or keyboard, is passed to that first one. Delete this file
 * (and its line in _ext/page_fixes.py) once constraints.txt locks a release that fixes the
 * issue; tests/test_phone.py fails if the bug comes back.
 */
document.addEventListener("click", function (event) {
  ["primary-toggle", "secondary-toggle"].forEach(function (name) {
    var button = event.target.closest && event.target.closest("." + name);
    var bound = document.querySelector("." + name);
    if (button && bound && button !== bound) {
      event.preventDefault();
      bound.click();
    }
  });
});
