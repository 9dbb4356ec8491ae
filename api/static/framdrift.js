/* Framdrift: small progressive enhancements (the pages work without them).
 * - Drafts: what is typed in a form marked data-draft is kept in this device's storage
 *   until the server confirms it was saved, so a lost connection, an expired session or
 *   a closed tab never loses text.
 * - A form is sent once: its submit button is disabled after the first click (the
 *   server also records a form only once, by its idempotency key).
 * - The first error on a page gets the focus. */
(function () {
  "use strict";
  var PREFIX = "framdrift-draft:";
  function storage() {
    try { var s = window.localStorage; s.setItem(PREFIX + "t", "1"); s.removeItem(PREFIX + "t"); return s; }
    catch (e) { return null; }
  }
  var store = storage();

  function fields(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && el.name !== "csrf_token" && el.name !== "request_id" &&
        el.name !== "expected_version" && (el.tagName === "TEXTAREA" ||
        (el.tagName === "INPUT" && (el.type === "text" || el.type === "email" || el.type === "url")));
    });
  }

  function save(form) {
    if (!store) { return; }
    var data = {};
    var any = false;
    fields(form).forEach(function (el) { data[el.name] = el.value; if (el.value) { any = true; } });
    var key = PREFIX + form.getAttribute("data-draft");
    if (any) { store.setItem(key, JSON.stringify(data)); } else { store.removeItem(key); }
  }

  function restore(form) {
    if (!store) { return; }
    var raw = store.getItem(PREFIX + form.getAttribute("data-draft"));
    if (!raw) { return; }
    var data;
    try { data = JSON.parse(raw); } catch (e) { return; }
    var restored = false;
    fields(form).forEach(function (el) {
      if (!el.value && data[el.name]) { el.value = data[el.name]; restored = true; }
    });
    if (restored) {
      var note = document.createElement("p");
      note.className = "draftnote";
      note.setAttribute("role", "status");
      note.textContent = document.documentElement.lang === "en"
        ? "Text you had not yet saved was restored from this device."
        : "Text som du inte hade sparat har återställts från den här enheten.";
      form.insertBefore(note, form.firstChild);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-clear-draft]"), function (el) {
      if (store) { store.removeItem(PREFIX + el.getAttribute("data-clear-draft")); }
    });
    Array.prototype.forEach.call(document.querySelectorAll("form[data-draft]"), function (form) {
      restore(form);
      form.addEventListener("input", function () { save(form); });
    });
    Array.prototype.forEach.call(document.querySelectorAll("form"), function (form) {
      form.addEventListener("submit", function (event) {
        if (form.getAttribute("data-sending")) { event.preventDefault(); return; }
        form.setAttribute("data-sending", "1");
        Array.prototype.forEach.call(form.querySelectorAll("button[type=submit]"), function (b) {
          window.setTimeout(function () { b.disabled = true; }, 0);
        });
        if (form.getAttribute("data-draft")) { save(form); }
      });
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-select-on-focus]"), function (el) {
      el.addEventListener("focus", function () { el.select(); });
    });
    var summary = document.querySelector(".errorsummary");
    if (summary) {
      var first = document.querySelector("[aria-invalid=true]");
      (first || summary).focus();
    }
  });
}());
