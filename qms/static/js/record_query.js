/* QMS tracker: the record-query builder of the objective form. It writes the query as
   JSON into the form's "query" text box, which the server checks; without this file the
   box can be filled by hand. Shown only when the source "computed from records" is chosen. */
(function () {
  "use strict";

  var ORDER = ["gt", "ge", "lt", "le"];
  var UNARY = ["empty", "not_empty"];

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") node.textContent = attrs[key];
      else node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) { node.appendChild(child); });
    return node;
  }

  function select(options, value, label) {
    var box = el("select", label ? { "aria-label": label } : {});
    options.forEach(function (o) {
      var option = el("option", { value: o.value, text: o.label });
      if (String(o.value) === String(value)) option.selected = true;
      box.appendChild(option);
    });
    return box;
  }

  function labelled(text, control) {
    return el("label", { "class": "query-part" }, [el("span", { text: text }), control]);
  }

  function init() {
    var data = document.getElementById("record-query-builder-data");
    var box = document.querySelector("textarea[data-record-query]");
    var source = document.querySelector("select[name=source]");
    var frequency = document.querySelector("select[name=frequency]");
    if (!data || !box || !source || !window.fetch) return;
    var cfg = JSON.parse(data.textContent);
    var t = cfg.text;
    var query;
    try { query = JSON.parse(box.value || "null"); } catch (e) { query = null; }
    query = query || { form: "", measure: "ratio", factor: 1000, date: cfg.submitted, conditions: [], base: [] };
    query.conditions = query.conditions || [];
    query.base = query.base || [];
    var fields = [];
    var root = el("div", { "class": "query-builder card", id: "query-builder" });
    var wrapper = box.closest(".field") || box.parentNode;
    wrapper.parentNode.insertBefore(root, wrapper.nextSibling);

    function write() { box.value = JSON.stringify(query); schedulePreview(); }

    function field(key) {
      return fields.filter(function (f) { return f.key === key; })[0];
    }

    function conditionRow(list, index) {
      var c = list[index];
      var f = field(c.field) || fields[0];
      if (!f) return el("div");
      c.field = f.key;
      var ops = f.operators.map(function (o) { return { value: o.op, label: o.label }; });
      if (!f.operators.some(function (o) { return o.op === c.op; })) c.op = ops[0].value;
      var row = el("div", { "class": "query-condition toolbar" });
      var fieldBox = select(fields.map(function (x) { return { value: x.key, label: x.label }; }), c.field, t.field);
      fieldBox.addEventListener("change", function () {
        list[index] = { field: fieldBox.value, op: "" };
        render();
      });
      var opBox = select(ops, c.op, t.operator);
      opBox.addEventListener("change", function () { c.op = opBox.value; delete c.other; render(); });
      row.appendChild(fieldBox);
      row.appendChild(opBox);
      if (UNARY.indexOf(c.op) < 0) {
        var others = [];
        if (f.comparable && ORDER.indexOf(c.op) >= 0) {
          others = fields.filter(function (x) { return x.key !== f.key && x.comparable && x.date === f.date; });
        }
        if (others.length) {
          var against = select([{ value: "", label: t.value }].concat(
            others.map(function (x) { return { value: x.key, label: x.label }; })), c.other || "", t.against);
          against.addEventListener("change", function () {
            if (against.value) { c.other = against.value; delete c.value; } else { delete c.other; }
            render();
          });
          row.appendChild(against);
        }
        if (!c.other) {
          var input;
          var multiple = c.op === "in" || c.op === "not_in";
          if (f.options.length && !multiple) {
            input = select([{ value: "", label: t.choose }].concat(f.options), c.value || "", t.value);
          } else {
            var type = { date: "date", datetime: "datetime-local", number: "number", integer: "number" }[f.type] || "text";
            input = el("input", { type: multiple ? "text" : type, "aria-label": t.value });
            input.value = Array.isArray(c.value) ? c.value.join(",") : (c.value === undefined ? "" : c.value);
          }
          input.addEventListener("change", function () {
            c.value = multiple ? input.value.split(",").map(function (s) { return s.trim(); }).filter(Boolean) : input.value;
            write();
          });
          row.appendChild(input);
        }
      } else {
        delete c.value;
        delete c.other;
      }
      var remove = el("button", { type: "button", "class": "btn btn-secondary", text: t.remove });
      remove.addEventListener("click", function () { list.splice(index, 1); render(); });
      row.appendChild(remove);
      return row;
    }

    function conditions(title, list) {
      var section = el("fieldset", { "class": "query-conditions" }, [el("legend", { text: title })]);
      list.forEach(function (_c, i) { section.appendChild(conditionRow(list, i)); });
      var add = el("button", { type: "button", "class": "btn btn-secondary", text: t.add });
      add.addEventListener("click", function () {
        if (fields.length) list.push({ field: fields[0].key, op: "" });
        render();
      });
      section.appendChild(add);
      return section;
    }

    var preview = el("p", { "class": "query-preview", "aria-live": "polite" });

    function render() {
      root.innerHTML = "";
      var formBox = select([{ value: "", label: t.choose }].concat(cfg.forms.map(function (f) {
        return { value: f.code, label: f.code + " " + f.title };
      })), query.form);
      formBox.addEventListener("change", function () {
        query.form = formBox.value;
        query.conditions = [];
        query.base = [];
        query.date = cfg.submitted;
        load();
      });
      root.appendChild(labelled(t.form, formBox));
      var measureBox = select(cfg.measures, query.measure);
      measureBox.addEventListener("change", function () { query.measure = measureBox.value; render(); });
      root.appendChild(labelled(t.measure, measureBox));
      if (query.measure === "ratio") {
        var factorBox = select([{ value: 1, label: "× 1" }, { value: 100, label: "× 100 (%)" }, { value: 1000, label: "× 1000 (‰)" }], query.factor);
        factorBox.addEventListener("change", function () { query.factor = Number(factorBox.value); write(); });
        root.appendChild(labelled(t.factor, factorBox));
      } else {
        query.base = [];
      }
      var dates = [{ value: cfg.submitted, label: t.submitted }].concat(
        fields.filter(function (f) { return f.date; }).map(function (f) { return { value: f.key, label: f.label }; }));
      var dateBox = select(dates, query.date);
      dateBox.addEventListener("change", function () { query.date = dateBox.value; write(); });
      root.appendChild(labelled(t.date, dateBox));
      if (query.form) {
        root.appendChild(conditions(t.conditions, query.conditions));
        if (query.measure === "ratio") root.appendChild(conditions(t.base, query.base));
      }
      var button = el("button", { type: "button", "class": "btn btn-secondary", text: t.preview });
      button.addEventListener("click", runPreview);
      root.appendChild(el("div", { "class": "toolbar" }, [button, preview]));
      write();
    }

    var timer = null;
    function schedulePreview() {
      clearTimeout(timer);
      if (query.form) timer = setTimeout(runPreview, 500);
    }

    function runPreview() {
      var token = document.querySelector("meta[name=csrf-token]");
      fetch(cfg.preview_url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": token ? token.content : "" },
        body: JSON.stringify({ query: query, frequency: frequency ? frequency.value : "monthly" })
      })
        .then(function (response) { return response.json(); })
        .then(function (answer) {
          if (answer.error) { preview.textContent = answer.error; return; }
          var value = answer.value === null ? t.none : answer.value;
          var count = query.measure === "ratio" ? answer.matched + " " + t.of + " " + answer.base : answer.matched;
          preview.textContent = answer.period + ": " + value + " (" + count + " " + t.records + ")";
        })
        .catch(function () { preview.textContent = ""; });
    }

    function load() {
      if (!query.form) { fields = []; render(); return; }
      fetch(cfg.fields_url + "?form=" + encodeURIComponent(query.form), { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) { return response.json(); })
        .then(function (answer) { fields = answer.fields || []; render(); })
        .catch(function () { fields = []; render(); });
    }

    function toggle() {
      var on = source.value === "record_query";
      root.hidden = !on;
      wrapper.hidden = !on;
    }
    source.addEventListener("change", toggle);
    toggle();
    load();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
