// Framdrift replay: progressive enhancements. The page works without this file: links,
// forms and (inside <noscript>) a meta refresh for "play".
//
// - Links marked `.swap` (steps, play/pause/speed, the chart's records, the card's links)
//   fetch the page they point to and swap its `[data-live]` part into this one: no page
//   load, the scroll position, open <details>, the focus and a choice made in one of its
//   forms but not yet sent (a filter picked while it plays) are kept. "Play" then follows
//   the player's `data-next` every `data-delay` ms until it is paused or reaches the end.
// - The chart is one tab stop (roving tabindex): the arrow keys move between its records,
//   Home/End to the first/last, Enter opens one's card.
(function () {
  "use strict";
  var timer = null;
  var loading = null;

  function narrow() { return window.matchMedia("(max-width: 40rem)").matches; }

  function schedule() {
    window.clearTimeout(timer);
    timer = null;
    var player = document.getElementById("player");
    if (player && player.dataset.next) {
      timer = window.setTimeout(function () { swap(player.dataset.next, {playing: true}); },
                                parseInt(player.dataset.delay, 10) || 1000);
    }
  }

  function focusKey(element) {
    if (!element || element === document.body) { return null; }
    if (element.dataset && element.dataset.key) { return "[data-key='" + element.dataset.key + "']"; }
    if (element.id) { return "#" + element.id; }
    if (element.name && element.form && element.form.id) { return control(element); }
    var record = element.querySelector && element.querySelector("g[data-record]");
    var svg = element.closest && element.closest("svg");
    if (record && svg) { return "#" + svg.id + " a:has(g[data-record='" + record.dataset.record + "'])"; }
    return null;
  }

  function control(element) { return "#" + element.form.id + " [name='" + element.name + "']"; }

  // the live part's form fields the reader has changed but not sent: a fresh copy of the
  // part would put them back to what the server rendered
  function unsent() {
    var kept = [];
    document.querySelectorAll("[data-live] form[id] [name]").forEach(function (field) {
      if (field.type === "hidden" || field.type === "submit") { return; }
      var changed = field.tagName === "SELECT"
        ? Array.prototype.some.call(field.options, function (o) { return o.selected !== o.defaultSelected; })
        : field.value !== field.defaultValue;
      if (changed) { kept.push([control(field), field.value]); }
    });
    return kept;
  }

  // fetch `url`, swap its live part in; options.push: a new history entry (else replaced),
  // options.reveal: bring the selection into view; options.focusCard: focus it
  function swap(url, options) {
    if (loading) { loading.abort(); }
    var controller = new AbortController();
    loading = controller;
    window.clearTimeout(timer);
    return fetch(url, {credentials: "same-origin", headers: {Accept: "text/html"},
                       signal: controller.signal})
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      })
      .then(function (text) {
        var doc = new DOMParser().parseFromString(text, "text/html");
        var x = window.scrollX, y = window.scrollY;
        var key = focusKey(document.activeElement);
        var open = Array.prototype.map.call(document.querySelectorAll("details[open][id]"),
                                            function (d) { return d.id; });
        var fields = unsent();
        var scrolls = {};
        document.querySelectorAll("[data-live] .chart-scroll[id]").forEach(function (box) {
          scrolls[box.id] = box.scrollLeft;
        });
        doc.querySelectorAll("[data-live]").forEach(function (fresh) {
          var old = document.getElementById(fresh.id);
          if (old) { old.replaceWith(document.importNode(fresh, true)); }
        });
        open.forEach(function (id) { var d = document.getElementById(id); if (d) { d.open = true; } });
        fields.forEach(function (kept) {
          var field = document.querySelector(kept[0]); if (field) { field.value = kept[1]; }
        });
        Object.keys(scrolls).forEach(function (id) {
          var box = document.getElementById(id); if (box) { box.scrollLeft = scrolls[id]; }
        });
        document.title = doc.title;
        var player = document.getElementById("player");
        // the address bar: the link followed; while playing the moment without "play"
        var address = options.playing ? (player && player.dataset.here) || url : url;
        if (options.push) { window.history.pushState({replay: true}, "", address); }
        else { window.history.replaceState({replay: true}, "", address); }
        window.scrollTo(x, y);
        var selection = document.getElementById("record-card") || document.getElementById("group-card");
        if (options.focusCard && selection) {
          selection.setAttribute("tabindex", "-1");
          selection.focus();
        } else if (key) {
          var again = document.querySelector(key);
          if (again) { again.focus({preventScroll: true}); }
        }
        if (options.reveal && selection && narrow()) { selection.scrollIntoView({block: "start"}); }
        window.replaySwaps = (window.replaySwaps || 0) + 1;  // browser tests count these
        schedule();
      })
      .catch(function (error) {
        if (error.name !== "AbortError") { window.location.href = url; }
      })
      .finally(function () { if (loading === controller) { loading = null; } });
  }

  // a link's address (an SVG <a> has no .href string of its own)
  function address(link) { return new URL(link.getAttribute("href"), window.location.href); }

  function follow(link, event, keyboard) {
    var url = address(link);
    var record = link.classList.contains("dot-link") || url.hash === "#selection";
    var player = link.closest("#player");
    if (event) { event.preventDefault(); }
    swap(url.href, {push: !player && !link.closest(".steps, .weeks"), reveal: record,
                     focusCard: keyboard && record, playing: !!player});
  }

  // the chart's arrow keys: along a lane (Left/Right, on into the next lane), to the lane
  // above or below at the nearest time (Up/Down), Home/End
  function roving(event) {
    var link = event.target.closest && event.target.closest("a.dot-link");
    if (!link) { return false; }
    var links = Array.prototype.slice.call(link.ownerSVGElement.querySelectorAll("a.dot-link"));
    var i = links.indexOf(link), next = null;
    var lane = parseInt(link.dataset.lane, 10), x = parseFloat(link.dataset.x);
    if (event.key === "ArrowRight") { next = links[i + 1]; }
    else if (event.key === "ArrowLeft") { next = links[i - 1]; }
    else if (event.key === "Home") { next = links[0]; }
    else if (event.key === "End") { next = links[links.length - 1]; }
    else if (event.key === "ArrowUp" || event.key === "ArrowDown") {
      var step = event.key === "ArrowUp" ? -1 : 1;
      var lanes = links.map(function (a) { return parseInt(a.dataset.lane, 10); });
      var target = null;
      lanes.forEach(function (l) {
        if ((l - lane) * step > 0 && (target === null || Math.abs(l - lane) < Math.abs(target - lane))) { target = l; }
      });
      if (target !== null) {
        links.forEach(function (a) {
          if (parseInt(a.dataset.lane, 10) === target && (next === null ||
              Math.abs(parseFloat(a.dataset.x) - x) < Math.abs(parseFloat(next.dataset.x) - x))) { next = a; }
        });
      }
    } else if (event.key === "Enter" || event.key === " ") {
      follow(link, event, true);
      return true;
    } else { return false; }
    event.preventDefault();
    if (next) {
      links.forEach(function (a) { a.setAttribute("tabindex", "-1"); });
      next.setAttribute("tabindex", "0");
      next.focus();
    }
    return true;
  }

  document.addEventListener("click", function (event) {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey ||
        event.shiftKey || event.altKey) { return; }
    var link = event.target.closest && event.target.closest("a.swap");
    if (link && address(link).origin === window.location.origin) { follow(link, event, false); }
  });

  document.addEventListener("keydown", function (event) {
    if (roving(event)) { return; }
    var target = event.target;
    if (target && target !== document.body && target !== document.documentElement) { return; }
    var ids = { ArrowLeft: ["step-previous"], ArrowRight: ["step-next"],
                " ": ["play-stop", "play", "play-over"] }[event.key] || [];
    for (var i = 0; i < ids.length; i += 1) {
      var link = document.getElementById(ids[i]);
      if (link) { event.preventDefault(); follow(link, null, false); return; }
    }
  });

  document.addEventListener("input", function (event) {
    if (event.target.id === "at-range") {
      var output = event.target.parentNode.querySelector("output");
      if (output) { output.value = event.target.value; }
    }
  });
  document.addEventListener("change", function (event) {
    if (event.target.id === "at-range") { event.target.form.submit(); }
  });

  window.addEventListener("popstate", function () { swap(window.location.href, {}); });
  document.addEventListener("DOMContentLoaded", schedule);
}());
