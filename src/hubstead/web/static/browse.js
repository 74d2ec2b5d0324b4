// Narrows the filter sidebar as one types in its search box. Progressive: without this script
// every facet is listed and the box does nothing.
(function () {
  "use strict";
  function setup() {
    var input = document.querySelector("[data-facet-filter]");
    if (!input) return;
    var empty = document.querySelector("[data-facet-empty]");
    function apply() {
      var needle = input.value.trim().toLowerCase();
      var shown = 0;
      document.querySelectorAll("[data-facet-value]").forEach(function (item) {
        var match = !needle || item.getAttribute("data-facet-value").indexOf(needle) !== -1 ||
          item.textContent.toLowerCase().indexOf(needle) !== -1;
        item.hidden = !match;
        if (match) shown += 1;
      });
      document.querySelectorAll("[data-facet-group], [data-facet]").forEach(function (box) {
        box.hidden = !!needle && !box.querySelector("[data-facet-value]:not([hidden])");
      });
      if (empty) empty.hidden = shown > 0;
    }
    input.addEventListener("input", apply);
    apply();
  }
  // On a phone the filter panel starts folded (its summary says how many filters are active);
  // without this script it stays open, as on a wide screen.
  function fold() {
    var narrow = window.matchMedia && window.matchMedia("(max-width: 50rem)").matches;
    if (!narrow) return;
    document.querySelectorAll("details[data-collapse-narrow]").forEach(function (panel) {
      panel.open = false;
    });
  }
  function start() { fold(); setup(); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
