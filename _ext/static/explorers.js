/* Runs the explorers that _ext/explorer_frames.py writes, with no kernel: each control
 * indexes the figures lib drew at build time for every combination of the controls'
 * settings (data-explorer: controls, frame URLs, numbers, readouts), and a move shows the
 * figure and the numbers for the new combination. A click on a picture with data-pad
 * moves the two sliders its axes stand for. Figures one step away from the current
 * ones are fetched when the reader first reaches for a control.
 */
(function () {
  "use strict";

  function Explorer(root) {
    this.root = root;
    this.data = JSON.parse(root.dataset.explorer);
    this.image = root.querySelector("img");
    this.readout = root.querySelector(".explorer-readout");
    this.inputs = this.data.controls.map(function (control) {
      return root.querySelector('[data-control="' + control.name + '"]');
    });
    this.kept = {}; // fetched figures, kept so that no request is dropped half-way
    var self = this;
    this.inputs.forEach(function (input) {
      input.addEventListener("input", function () { self.show(); });
      input.addEventListener("change", function () { self.show(); });
      ["focus", "pointerdown"].forEach(function (kind) {
        input.addEventListener(kind, function () { self.prefetch(); });
      });
    });
    if (this.data.pad) {
      this.image.addEventListener("click", function (event) { self.padClick(event); });
    }
  }

  Explorer.prototype.positions = function () {
    return this.inputs.map(function (input) { return parseInt(input.value, 10); });
  };

  Explorer.prototype.frameOf = function (positions) {
    var frame = 0;
    this.data.controls.forEach(function (control, k) {
      frame = frame * control.texts.length + positions[k];
    });
    return frame;
  };

  Explorer.prototype.show = function () {
    var positions = this.positions();
    var frame = this.frameOf(positions);
    var data = this.data;
    this.inputs.forEach(function (input, k) {
      var text = data.controls[k].texts[positions[k]];
      var shown = input.nextElementSibling;
      if (input.type === "range") {
        input.setAttribute("aria-valuetext", text);
        if (shown) shown.textContent = text;
      }
    });
    this.root.dataset.frame = String(frame);
    this.root.dataset.values = JSON.stringify(data.values[frame]);
    this.image.src = data.frames[frame];
    this.readout.textContent = data.readouts[frame];
    this.prefetch();
  };

  Explorer.prototype.fetch = function (frame) {
    if (this.kept[frame]) return;
    var image = new Image();
    image.src = this.data.frames[frame];
    this.kept[frame] = image;
  };

  Explorer.prototype.prefetch = function () {
    var positions = this.positions();
    var self = this;
    this.data.controls.forEach(function (control, k) {
      [-1, 1].forEach(function (offset) {
        var moved = positions.slice();
        moved[k] += offset;
        if (moved[k] >= 0 && moved[k] < control.texts.length) self.fetch(self.frameOf(moved));
      });
    });
  };

  function nearest(values, target, log) {
    var best = 0;
    values.forEach(function (value, k) {
      var gap = log ? Math.abs(Math.log(value) - Math.log(target)) : Math.abs(value - target);
      var bestGap = log ? Math.abs(Math.log(values[best]) - Math.log(target)) : Math.abs(values[best] - target);
      if (gap < bestGap) best = k;
    });
    return best;
  }

  function along(fraction, limits, log) {
    if (!log) return limits[0] + fraction * (limits[1] - limits[0]);
    var low = Math.log(limits[0]);
    return Math.exp(low + fraction * (Math.log(limits[1]) - low));
  }

  Explorer.prototype.padClick = function (event) {
    var pad = this.data.pad;
    var box = pad.box;
    var rect = this.image.getBoundingClientRect();
    var fx = ((event.clientX - rect.left) / rect.width - box.left) / (box.right - box.left);
    var fy = (box.bottom - (event.clientY - rect.top) / rect.height) / (box.bottom - box.top);
    if (fx < 0 || fx > 1 || fy < 0 || fy > 1) return;
    var self = this;
    [[pad.x, along(fx, box.xlim, box.xlog), box.xlog], [pad.y, along(fy, box.ylim, box.ylog), box.ylog]]
      .forEach(function (entry) {
        var k = self.data.controls.findIndex(function (control) { return control.name === entry[0]; });
        self.inputs[k].value = String(nearest(self.data.controls[k].values, entry[1], entry[2]));
      });
    this.show();
  };

  function start() {
    document.querySelectorAll(".explorer[data-explorer]").forEach(function (root) {
      root.explorer = new Explorer(root);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
