/* The structured editor's body: every <textarea data-markdown-editor="<language>"> becomes a
   TOAST UI Editor (qms/static/vendor/toastui), WYSIWYG with a Markdown tab, a toolbar and
   tables. The textarea stays in the form and carries the Markdown on every change, so the
   page's unsaved-changes guard and a plain form post work as before. Without scripts, or
   where the editor did not load, the textarea is edited as it is. */
(function () {
  "use strict";

  function enhance(textarea) {
    if (!window.toastui || !window.toastui.Editor) {
      return;
    }
    var holder = document.createElement("div");
    holder.className = "markdown-editor";
    textarea.parentNode.insertBefore(holder, textarea);
    textarea.hidden = true;
    var editor = new window.toastui.Editor({
      el: holder,
      initialValue: textarea.value,
      initialEditType: "wysiwyg",
      previewStyle: "vertical",
      height: textarea.dataset.editorHeight || "600px",
      language: textarea.dataset.markdownEditor || "en-US",
      usageStatistics: false,
      autofocus: false,
      events: {
        change: function () {
          textarea.value = editor.getMarkdown();
          textarea.dispatchEvent(new Event("input", { bubbles: true }));
        },
      },
    });
    textarea.form.addEventListener("submit", function () {
      textarea.value = editor.getMarkdown();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("textarea[data-markdown-editor]"), enhance);
  });
})();
