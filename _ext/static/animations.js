/* Plays the animations that _ext/lazy_animations.py writes: a frame image, a slider,
 * nine buttons and a once / loop / reflect choice, as matplotlib's player has them.
 * The frames (data-frames, a JSON list of image URLs) are fetched when the animation
 * comes within a screen of the viewport, or at the first press of a control.
 */
(function () {
  "use strict";

  function Player(root) {
    this.root = root;
    this.image = root.querySelector("img");
    this.slider = root.querySelector(".anim-slider");
    this.form = root.querySelector(".anim-state");
    this.frames = JSON.parse(root.dataset.frames);
    this.interval = parseFloat(root.dataset.interval);
    this.current = 0;
    this.timer = null;
    this.loaded = false;
  }

  Player.prototype.load = function () {
    if (this.loaded) return;
    this.loaded = true;
    // Kept, so that a preload is never dropped (and its request cancelled) half-way.
    this.images = this.frames.map(function (url) {
      var image = new Image();
      image.src = url;
      return image;
    });
  };

  Player.prototype.mode = function () {
    var checked = this.form.querySelector("input:checked");
    return checked ? checked.value : "once";
  };

  Player.prototype.show = function (frame) {
    this.current = frame;
    this.image.src = this.frames[frame];
    this.slider.value = frame;
  };

  Player.prototype.stop = function () {
    clearInterval(this.timer);
    this.timer = null;
    this.direction = 0;
  };

  Player.prototype.run = function (direction) {
    var player = this;
    this.stop();
    this.direction = direction;
    this.timer = setInterval(function () {
      player.step();
    }, this.interval);
  };

  Player.prototype.step = function () {
    var last = this.frames.length - 1;
    var next = this.current + this.direction;
    if (next >= 0 && next <= last) {
      // On a slow connection the animation waits for its next frame instead of
      // swapping in one still loading (and cancelling the request on the next tick).
      if (this.images && !this.images[next].complete) return;
      return this.show(next);
    }
    var mode = this.mode();
    if (mode === "loop") return this.show(this.direction > 0 ? 0 : last);
    if (mode === "reflect") return this.run(-this.direction);
    this.stop();
  };

  Player.prototype.speed = function (factor) {
    this.interval *= factor;
    if (this.direction) this.run(this.direction);
  };

  Player.prototype.act = function (action) {
    var last = this.frames.length - 1;
    switch (action) {
      case "slower": return this.speed(1 / 0.7);
      case "faster": return this.speed(0.7);
      case "first": return this.show(0);
      case "last": return this.show(last);
      case "previous": return this.show(Math.max(0, this.current - 1));
      case "next": return this.show(Math.min(last, this.current + 1));
      case "play": return this.run(1);
      case "reverse": return this.run(-1);
      case "pause": return this.stop();
    }
  };

  function start() {
    var roots = document.querySelectorAll(".animation[data-frames]");
    var nearby = "IntersectionObserver" in window
      ? new IntersectionObserver(function (entries) {
          entries.forEach(function (entry) {
            if (entry.isIntersecting) {
              entry.target.player.load();
              nearby.unobserve(entry.target);
            }
          });
        }, { rootMargin: "100% 0px" })
      : null;
    roots.forEach(function (root) {
      var player = (root.player = new Player(root));
      root.querySelectorAll("button[data-action]").forEach(function (button) {
        button.addEventListener("click", function () {
          player.load();
          player.act(button.dataset.action);
        });
      });
      player.slider.addEventListener("input", function () {
        player.load();
        player.show(parseInt(player.slider.value, 10));
      });
      if (nearby) nearby.observe(root);
      else player.load();
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
