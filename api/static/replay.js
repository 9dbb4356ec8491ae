// Framdrift replay: small progressive enhancements. The page works without this file
// (links, forms and a meta refresh for "play").
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var range = document.getElementById("at-range");
    if (range) {
      var output = range.parentNode.querySelector("output");
      range.addEventListener("input", function () { if (output) { output.value = range.value; } });
      range.addEventListener("change", function () { range.form.submit(); });
    }
    document.addEventListener("keydown", function (event) {
      if (event.target && /INPUT|SELECT|TEXTAREA/.test(event.target.tagName)) { return; }
      var id = { ArrowLeft: "step-previous", ArrowRight: "step-next", " ": "play" }[event.key];
      if (event.key === " " && document.getElementById("play-stop")) { id = "play-stop"; }
      var link = id && document.getElementById(id);
      if (link) { event.preventDefault(); window.location.href = link.href; }
    });
  });
}());
