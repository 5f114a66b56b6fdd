/* Loads the widget manager (the scripts named in this script's data-load, relative to
 * it, in order) when a widget view comes within a screen of the viewport, then has the
 * manager draw the page's widgets. Written by _ext/lazy_widgets.py.
 *
 * The manager's embed.js draws the widgets from a window "load" listener. By the time a
 * reader scrolls to a widget that event has passed, so the listeners embed.js adds
 * while it runs are called once it has loaded.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var sources = script.dataset.load.split(/\s+/).map(function (path) {
    return new URL(path, script.src).href;
  });
  var started = false;

  function loadInOrder(index, listeners) {
    if (index === sources.length) {
      listeners.forEach(function (listener) {
        listener.call(window, new Event("load"));
      });
      return;
    }
    var element = document.createElement("script");
    element.src = sources[index];
    var addEventListener = window.addEventListener;
    window.addEventListener = function (type, listener, options) {
      if (type === "load" && document.readyState === "complete") listeners.push(listener);
      else addEventListener.call(window, type, listener, options);
    };
    element.onload = element.onerror = function () {
      window.addEventListener = addEventListener;
      loadInOrder(index + 1, listeners);
    };
    document.head.appendChild(element);
  }

  function start() {
    if (started) return;
    started = true;
    if (document.readyState === "complete") loadInOrder(0, []);
    else window.addEventListener("load", function () { loadInOrder(0, []); });
  }

  var views = document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]');
  if (!views.length) return;
  if (!("IntersectionObserver" in window)) return start();
  var nearby = new IntersectionObserver(function (entries) {
    if (entries.some(function (entry) { return entry.isIntersecting; })) {
      nearby.disconnect();
      start();
    }
  }, { rootMargin: "100% 0px" });
  views.forEach(function (view) {
    nearby.observe(view.parentElement);
  });
})();
