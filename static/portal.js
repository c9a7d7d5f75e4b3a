// Small enhancements for the client's order page; everything works without them.
(function () {
  "use strict";
  document.documentElement.classList.add("has-js");
  function player() { return document.querySelector("[data-player]"); }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  document.addEventListener("click", function (event) {
    var seek = event.target.closest("[data-seek]");
    var video = player();
    if (seek && video) {
      event.preventDefault();
      video.currentTime = parseInt(seek.getAttribute("data-seek"), 10) || 0;
      video.scrollIntoView({ behavior: "smooth", block: "center" });
      video.play().catch(function () {});
    }
    var insert = event.target.closest("[data-insert-time]");
    if (insert) {
      var box = document.querySelector("[data-comment-box]");
      if (!box) { return; }
      var t = video ? Math.floor(video.currentTime) : 0;
      var stamp = pad(Math.floor(t / 60)) + ":" + pad(t % 60) + " ";
      var before = box.value && !box.value.endsWith("\n") ? "\n" : "";
      box.value += before + stamp;
      box.focus();
    }
  });
  document.addEventListener("submit", function (event) {
    var button = event.target.querySelector("button[type=submit]");
    if (button) { setTimeout(function () { button.disabled = true; }, 0); }
  });
})();
