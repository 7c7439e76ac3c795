/* QMS tracker: the import page's progress bar. Without this file the page reloads itself
   (a <noscript> refresh); with it, the bar follows the job and the page reloads once done. */
(function () {
  "use strict";

  function poll(box) {
    var url = box.getAttribute("data-progress-url");
    var bar = box.querySelector("progress");
    var stage = box.querySelector("[data-progress-stage]");
    var count = box.querySelector("[data-progress-count]");
    if (!url || !window.fetch) return;

    function tick() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (job) {
          if (job.finished) {
            window.location.reload();
            return;
          }
          bar.max = job.total || 1;
          bar.value = job.done;
          if (stage) stage.textContent = job.stage;
          if (count) count.textContent = job.done + " / " + job.total;
          setTimeout(tick, 700);
        })
        .catch(function () { setTimeout(tick, 3000); });
    }
    tick();
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-progress-url]"), poll);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
