/* Executions: the live part of an execution's page is replaced every 2 s while it runs; keep
   the input/output blocks the reader opened open across those swaps. */
(function () {
  "use strict";
  var open = null;

  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (!target || target.id !== "execution-live") return;
    open = [];
    target.querySelectorAll("[data-keep] > details[open]").forEach(function (details) {
      open.push(details.parentNode.getAttribute("data-keep"));
    });
  });

  document.addEventListener("htmx:afterSettle", function () {
    if (!open) return;
    var live = document.getElementById("execution-live");
    if (live) {
      open.forEach(function (key) {
        live.querySelectorAll("[data-keep]").forEach(function (box) {
          if (box.getAttribute("data-keep") !== key) return;
          var details = box.querySelector(":scope > details");
          if (details) details.open = true;
        });
      });
    }
    open = null;
  });
})();
