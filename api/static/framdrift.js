/* Framdrift: small progressive enhancements (the pages work without them).
 * - Drafts: what is typed in a form marked data-draft is kept in this device's storage
 *   until the server confirms it was saved, so a lost connection, an expired session or
 *   a closed tab never loses text. Drafts belong to the signed-in person: they are kept
 *   under the opaque key the page names in <body data-drafts> (an HMAC, never a name),
 *   removed on sign-out, and a page of someone else removes them (a shared computer
 *   shows nobody another person's text). Without a signed-in person nothing is kept.
 *   A post carries its draft's key (_draft); once saved, the next page clears it.
 * - A form is sent once: its submit button is disabled after the first click (the
 *   server also records a form only once, by its idempotency key).
 * - The first error on a page gets the focus.
 * - Copy buttons beside links and tokens ([data-copy]): the clipboard, or else the text
 *   selected to copy by hand; the live region beside it says which. */
(function () {
  "use strict";
  var ROOT = "framdrift-draft2:";
  var LEGACY = "framdrift-draft:";  // drafts of before: keyed by no one, never shown again
  var owner = null;
  var PREFIX = null;

  function storage() {
    try { var s = window.localStorage; s.setItem(ROOT + "t", "1"); s.removeItem(ROOT + "t"); return s; }
    catch (e) { return null; }
  }
  var store = storage();

  function removeWhere(test) {
    if (!store) { return; }
    var doomed = [];
    for (var i = 0; i < store.length; i++) {
      var key = store.key(i);
      if (key && test(key)) { doomed.push(key); }
    }
    doomed.forEach(function (key) { store.removeItem(key); });
  }

  function clearDraftsOf(who) {
    if (who) { removeWhere(function (key) { return key.indexOf(ROOT + who + ":") === 0; }); }
  }

  function tidy() {
    // Old unkeyed drafts, and drafts of anyone but the person signed in here now.
    removeWhere(function (key) {
      return key.indexOf(LEGACY) === 0 ||
        (key.indexOf(ROOT) === 0 && key.indexOf(PREFIX) !== 0 && key !== ROOT + "t");
    });
  }

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
    // The form's request id goes with the text: a restored draft that was in fact saved
    // (its answer lost) is the same request, so sending it again saves nothing twice.
    if (form.elements.request_id) { data._request_id = form.elements.request_id.value; }
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
      if (form.elements.request_id && data._request_id) {
        form.elements.request_id.value = data._request_id;
      }
      var note = document.createElement("p");
      note.className = "draftnote";
      note.setAttribute("role", "status");
      note.textContent = document.documentElement.lang === "en"
        ? "Text you had not yet saved was restored from this device."
        : "Text som du inte hade skickat har återställts från den här webbläsaren.";
      form.insertBefore(note, form.firstChild);
    }
  }

  // The error summary names each problem's field by its label on the page ("Decision:
  // Fill in this field."), where the page did not name it already: four unnamed "Fill in
  // this field." said nothing of which four.
  function nameProblems(summary) {
    Array.prototype.forEach.call(summary.querySelectorAll("a[href^='#']"), function (a) {
      if (a.hasAttribute("data-named")) { return; }
      var target = document.getElementById(a.getAttribute("href").slice(1));
      if (!target) { return; }
      var label = target.tagName === "FIELDSET" ? target.querySelector("legend")
        : document.querySelector("label[for='" + target.id + "']");
      if (!label) { return; }
      var copy = label.cloneNode(true);
      Array.prototype.forEach.call(copy.querySelectorAll(".req"), function (r) {
        r.parentNode.removeChild(r);
      });
      var name = copy.textContent.replace(/\s+/g, " ").trim();
      if (name) { a.textContent = name + ": " + a.textContent; }
    });
  }

  // The "based on" picker: search by text and filter by week, unit, kind and development
  // area (without script every record is listed; a ticked record is always shown).
  function picker(filters) {
    var list = filters.parentNode.querySelector(".picker-list");
    if (!list) { return; }
    var items = list.querySelectorAll("li");
    var count = filters.querySelector("[data-picker-count]");
    var en = document.documentElement.lang === "en";
    function value(name) {
      var el = filters.querySelector("[data-filter=" + name + "]");
      return el ? el.value.trim().toLowerCase() : "";
    }
    var shown = items.length;
    function tell() {  // the list scrolls in its own box: also say how many are selected in it
      if (!count) { return; }
      var selected = list.querySelectorAll("input:checked").length;
      count.textContent = (en ? shown + " of " + items.length + " shown"
        : shown + " av " + items.length + " visas") +
        (selected ? (en ? ", " + selected + " selected"
          : ", " + selected + (selected === 1 ? " vald" : " valda")) : "");
    }
    function apply() {
      var text = value("text"), week = value("week"), unit = value("unit"),
        kind = value("kind"), area = value("area");
      shown = 0;
      Array.prototype.forEach.call(items, function (li) {
        var box = li.querySelector("input");
        var ok = (box && box.checked) || (
          (!text || li.getAttribute("data-text").indexOf(text) !== -1) &&
          (!week || li.getAttribute("data-week") === week) &&
          (!unit || li.getAttribute("data-unit") === unit) &&
          (!kind || li.getAttribute("data-kind") === kind) &&
          (!area || li.getAttribute("data-area").indexOf(" " + area + " ") !== -1));
        li.hidden = !ok;
        if (ok) { shown++; }
      });
      tell();
    }
    filters.hidden = false;
    filters.addEventListener("input", apply);
    filters.addEventListener("change", apply);
    list.addEventListener("change", tell);  // (un)ticking changes the count, not the filter
    apply();
  }

  function copyButton(button) {
    var id = button.getAttribute("data-copy");
    var target = document.getElementById(id);
    var status = document.getElementById(id + "-status");
    if (!target) { return; }
    button.hidden = false;
    function say(text) { if (status) { status.textContent = text; } }
    function selectOnly() {
      target.focus();
      target.select();
      var copied = false;
      try { copied = document.execCommand("copy"); } catch (e) { copied = false; }
      say(button.getAttribute(copied ? "data-copied" : "data-select"));
    }
    button.addEventListener("click", function () {
      say("");
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(target.value).then(function () {
          say(button.getAttribute("data-copied"));
          button.setAttribute("data-done", "1");
        }, selectOnly);
      } else {
        selectOnly();
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-clear-drafts]"), function (el) {
      clearDraftsOf(el.getAttribute("data-clear-drafts"));  // after a sign-out
    });
    owner = document.body.getAttribute("data-drafts");
    if (!owner) {
      store = null;  // nobody signed in: no drafts are kept or shown
    } else {
      PREFIX = ROOT + owner + ":";
      tidy();
    }
    Array.prototype.forEach.call(document.querySelectorAll("form[data-sign-out]"), function (form) {
      form.addEventListener("submit", function () { clearDraftsOf(owner); });
    });
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
        if (form.getAttribute("data-draft")) {
          save(form);
          // Which draft this post is: once it is saved (answered with a redirect), the
          // next page clears it (api.web.signin.remember_saved_draft).
          var which = document.createElement("input");
          which.type = "hidden";
          which.name = "_draft";
          which.value = form.getAttribute("data-draft");
          form.appendChild(which);
        }
      });
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-select-on-focus]"), function (el) {
      el.addEventListener("focus", function () { el.select(); });
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-picker-filters]"), picker);
    Array.prototype.forEach.call(document.querySelectorAll("button[data-copy]"), copyButton);
    // "Tick everyone" (attendance: most take part; untick those who did not)
    Array.prototype.forEach.call(document.querySelectorAll("button[data-check-all]"), function (b) {
      var boxes = document.querySelectorAll("input[type=checkbox][name='" +
        b.getAttribute("data-check-all") + "']");
      b.hidden = false;
      b.addEventListener("click", function () {
        Array.prototype.forEach.call(boxes, function (box) { box.checked = true; });
      });
    });
    Array.prototype.forEach.call(document.querySelectorAll("button[data-print]"), function (b) {
      b.addEventListener("click", function () { window.print(); });
    });
    Array.prototype.forEach.call(document.querySelectorAll(".errorsummary"), nameProblems);
    var summary = document.querySelector(".errorsummary");
    if (summary) {
      var first = document.querySelector("[aria-invalid=true]");
      (first || summary).focus();
    }
  });
}());
