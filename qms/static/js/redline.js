/* The formatted redline: next / previous change, and "changed sections only", which hides
   each section (a heading and what follows it up to the next heading) without a change.
   Without scripts the whole redline is shown and the toolbar stays hidden. */
(function () {
  "use strict";

  function sections(article) {
    var groups = [], current = [];
    Array.prototype.forEach.call(article.children, function (el) {
      if (/^H[1-3]$/.test(el.tagName) && current.length) {
        groups.push(current);
        current = [];
      }
      current.push(el);
    });
    if (current.length) groups.push(current);
    return groups;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var article = document.querySelector("[data-redline]");
    var toolbar = document.querySelector("[data-redline-toolbar]");
    if (!article || !toolbar) return;
    toolbar.hidden = false;
    var changes = article.querySelectorAll("ins, del");
    var at = -1;

    function go(step) {
      if (!changes.length) return;
      var visible = Array.prototype.filter.call(changes, function (c) { return c.offsetParent !== null; });
      if (!visible.length) return;
      at = (at + step + visible.length) % visible.length;
      Array.prototype.forEach.call(changes, function (c) { c.classList.remove("rl-current"); });
      visible[at].classList.add("rl-current");
      visible[at].scrollIntoView({ block: "center" });
    }

    toolbar.querySelector("[data-redline-next]").addEventListener("click", function () { go(1); });
    toolbar.querySelector("[data-redline-prev]").addEventListener("click", function () { go(-1); });
    toolbar.querySelector("[data-redline-sections]").addEventListener("change", function (event) {
      var only = event.target.checked;
      sections(article).forEach(function (group) {
        var changed = group.some(function (el) { return el.matches("ins, del") || el.querySelector("ins, del"); });
        group.forEach(function (el) { el.hidden = only && !changed; });
      });
      at = -1;
    });
  });
})();
