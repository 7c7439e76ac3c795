/* QMS tracker: small enhancements only. Every page works without this file. */
(function () {
  "use strict";

  var strings = {};
  try {
    var data = document.getElementById("qms-i18n");
    if (data) strings = JSON.parse(data.textContent);
  } catch (e) { /* fall back to English below */ }
  function t(key, fallback) { return strings[key] || fallback; }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  /* ---- Phone menu: the CSS hides the menu below 760px; the button shows it. ---- */
  function initMenu() {
    var button = document.querySelector(".nav-toggle");
    if (!button) return;
    var menu = document.getElementById(button.getAttribute("aria-controls"));
    if (!menu) return;
    var label = button.querySelector(".nav-toggle-label");
    function set(open) {
      menu.classList.toggle("open", open);
      button.setAttribute("aria-expanded", open ? "true" : "false");
      if (label) label.textContent = open ? t("close_menu", "Close menu") : t("menu", "Menu");
    }
    button.addEventListener("click", function () {
      set(button.getAttribute("aria-expanded") !== "true");
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && menu.classList.contains("open")) {
        set(false);
        button.focus();
      }
    });
  }

  /* ---- Live Markdown preview ----
     <textarea data-preview-url="..." data-preview-target="#id">: after 600 ms without
     typing, POST the text as "content" and show the sanitised HTML the server returns. */
  function initPreview(textarea) {
    var target = document.querySelector(textarea.getAttribute("data-preview-target"));
    var url = textarea.getAttribute("data-preview-url");
    if (!target || !url || !window.fetch) return;
    var timer = null;
    var latest = 0;
    var controller = null;

    function showError() {
      target.innerHTML = "";
      var p = document.createElement("p");
      p.className = "preview-error";
      p.textContent = t("preview_unavailable", "Preview unavailable");
      target.appendChild(p);
    }

    function update() {
      var ticket = ++latest;
      if (controller) controller.abort();
      controller = window.AbortController ? new AbortController() : null;
      var body = new FormData();
      body.append("content", textarea.value);
      target.setAttribute("aria-busy", "true");
      fetch(url, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), "X-Requested-With": "fetch" },
        signal: controller ? controller.signal : undefined
      })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.text();
        })
        .then(function (html) {
          // Only the answer to the newest request may replace the preview.
          if (ticket === latest) target.innerHTML = html;
        })
        .catch(function (error) {
          if (error && error.name === "AbortError") return;
          if (ticket === latest) showError();
        })
        .then(function () {
          if (ticket === latest) target.removeAttribute("aria-busy");
        });
    }

    textarea.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(update, 600);
    });
    // A preview the server did not fill in is drawn once on load.
    if (!target.innerHTML.trim() && textarea.value.trim()) update();
  }

  /* ---- Unsaved changes guard for <form data-dirty-guard> ---- */
  var guarded = [];

  function snapshot(form) {
    var parts = [];
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.disabled || el.type === "submit" || el.type === "button") return;
      if (el.type === "file") parts.push(el.name + "=" + el.files.length);
      else if (el.type === "checkbox" || el.type === "radio") parts.push(el.name + "=" + el.checked);
      else if (el.multiple && el.options) {
        parts.push(el.name + "=" + Array.prototype.filter.call(el.options, function (o) { return o.selected; })
          .map(function (o) { return o.value; }).join(","));
      } else parts.push(el.name + "=" + el.value);
    });
    return parts.join("\u0000");
  }

  function initDirtyGuard(form) {
    var entry = { form: form, initial: snapshot(form), submitting: false };
    guarded.push(entry);
  }

  window.addEventListener("beforeunload", function (event) {
    var dirty = guarded.some(function (entry) {
      return !entry.submitting && document.contains(entry.form) && snapshot(entry.form) !== entry.initial;
    });
    if (!dirty) return undefined;
    var message = t("unsaved_changes", "You have changes that are not saved. Leave this page?");
    event.preventDefault();
    event.returnValue = message; // browsers show their own wording
    return message;
  });

  // Coming back through the history cache: the form is live again.
  window.addEventListener("pageshow", function () {
    guarded.forEach(function (entry) { entry.submitting = false; });
  });

  /* ---- data-confirm on forms, buttons and links ---- */
  // Buttons and links ask on click (Enter in a field also "clicks" the default button);
  // a form asks on submit unless the button pressed has already asked.
  document.addEventListener("click", function (event) {
    var el = event.target.closest && event.target.closest("a[data-confirm], button[data-confirm], input[data-confirm]");
    if (el && !window.confirm(el.getAttribute("data-confirm"))) event.preventDefault();
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter;
    var message = form.getAttribute("data-confirm");
    if (message && !(submitter && submitter.hasAttribute("data-confirm")) && !window.confirm(message)) {
      event.preventDefault();
      return;
    }
    guarded.forEach(function (entry) {
      if (entry.form === form) entry.submitting = true;
    });
  });

  /* ---- The hierarchy: <a class="tree-toggle" data-subtree="URL"> fetches the children
     of a collapsed node once (a fragment of <li> rows) and then folds and unfolds them.
     Without this the toggles are links that open the node by ?open=CODE. ---- */
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest && event.target.closest(".tree a.tree-toggle");
    if (!toggle || !window.fetch) return;
    event.preventDefault();
    var item = toggle.closest("li");
    var list = item.querySelector(":scope > ul");
    var open = toggle.getAttribute("aria-expanded") !== "true";
    function show(on) {
      if (list) list.hidden = !on;
      toggle.setAttribute("aria-expanded", on ? "true" : "false");
      toggle.textContent = on ? "\u25BE" : "\u25B8";
    }
    if (list || !open) { show(open); return; }
    var url = toggle.getAttribute("data-subtree");
    if (!url || toggle.getAttribute("aria-busy")) return;
    toggle.setAttribute("aria-busy", "true");
    fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        list = document.createElement("ul");
        list.innerHTML = html; // the server's own escaped template
        item.appendChild(list);
        show(true);
      })
      .catch(function () { window.location.href = toggle.href; })
      .then(function () { toggle.removeAttribute("aria-busy"); });
  });

  /* ---- Start ---- */
  function init() {
    initMenu();
    Array.prototype.forEach.call(document.querySelectorAll("textarea[data-preview-url][data-preview-target]"), initPreview);
    Array.prototype.forEach.call(document.querySelectorAll("form[data-dirty-guard]"), initDirtyGuard);
    // Filters fold away on phones only; wider screens always show them.
    if (window.matchMedia("(min-width: 760px)").matches) {
      Array.prototype.forEach.call(document.querySelectorAll("details.filter-box"), function (d) {
        d.open = true;
      });
    }
    // Move focus to an error summary so that screen readers announce it first.
    var summary = document.querySelector(".error-summary");
    if (summary) summary.focus();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
