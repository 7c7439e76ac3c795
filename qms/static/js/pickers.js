/* Pickers: every <select multiple data-picker="search"> becomes a searchable Tom Select
   picker (qms/static/vendor/tom-select). Without scripts, or where Tom Select did not load,
   the native list stays, with its hint on how to choose several. */
(function () {
  "use strict";

  var strings = {};
  try {
    var data = document.getElementById("qms-i18n");
    if (data) strings = JSON.parse(data.textContent);
  } catch (e) { /* English below */ }
  function t(key, fallback) { return strings[key] || fallback; }

  function enhance(select) {
    if (select.tomselect || select.disabled) return;
    var picker = new window.TomSelect(select, {
      plugins: { remove_button: { title: t("picker_remove", "Remove") } },
      // Every choice can be found by typing; the list itself shows the first hundred.
      maxOptions: 100,
      hidePlaceholder: true,
      placeholder: t("picker_placeholder", "Type to search"),
      closeAfterSelect: false,
      // A chosen item clears what was typed, so that the next one can be searched for.
      onItemAdd: function () {
        this.setTextboxValue("");
        this.refreshOptions(false);
      },
      render: {
        no_results: function (query, escape) {
          return '<div class="no-results">' + escape(t("picker_none", "Nothing matches")) + "</div>";
        }
      }
    });
    var field = select.closest(".field");
    if (field) field.classList.add("picker-on");
    // Tom Select points the label at its text box (aria-labelledby); the list it hides
    // keeps the same name, and the text box gets the field's hint and error.
    var control = picker.control_input;
    var labelId = control && control.getAttribute("aria-labelledby");
    if (labelId) select.setAttribute("aria-labelledby", labelId);
    var described = (select.getAttribute("aria-describedby") || "").split(/\s+/)
      .filter(function (id) { return id && id !== select.id + "-several"; });
    if (control && described.length) control.setAttribute("aria-describedby", described.join(" "));
    if (control && select.getAttribute("aria-invalid")) control.setAttribute("aria-invalid", "true");
  }

  function init() {
    if (typeof window.TomSelect !== "function") return;
    Array.prototype.forEach.call(document.querySelectorAll("select[multiple][data-picker='search']"), enhance);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
