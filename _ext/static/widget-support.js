/* Loaded before the ipywidgets HTML manager on pages that show widgets (by
 * lazy-widgets.js, when a widget nears the screen).
 *
 * Rendered widgets lack names for screen readers: a slider handle gets the widget's
 * description as its label, and a plot drawn in a widget's output gets as alt text
 * the caption paragraph that follows its notebook cell.
 */
(function () {
  "use strict";

  function caption(element) {
    var cell = element.closest(".cell");
    var next = cell && cell.nextElementSibling;
    return next && next.tagName === "P" ? next.textContent.trim().replace(/\s+/g, " ") : "";
  }

  function nameWidgets(root) {
    root.querySelectorAll(".widget-subarea [role=slider]:not([aria-label]):not([aria-labelledby])").forEach(function (handle) {
      var box = handle.closest(".widget-inline-hbox, .widget-inline-vbox, .jupyter-widgets");
      var label = box && box.querySelector(".widget-label");
      var text = label ? label.textContent.trim() : "";
      handle.setAttribute("aria-label", text || "Value");
    });
    root.querySelectorAll(".widget-subarea img:not([alt])").forEach(function (image) {
      image.setAttribute("alt", caption(image) || "Plot drawn by the interactive explorer");
    });
  }

  function watch() {
    new MutationObserver(function () {
      nameWidgets(document);
    }).observe(document.body, { childList: true, subtree: true });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", watch);
  else watch();
})();
