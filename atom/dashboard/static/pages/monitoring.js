/* Monitoring pages: the maintenance form reads its datetime-local fields in the reader's time
   zone, which the server needs to know (the fields carry no offset). */
(function () {
  "use strict";
  function zone() {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"; } catch (e) { return "UTC"; }
  }
  function wire(root) {
    var name = zone();
    root.querySelectorAll("input[data-timezone]").forEach(function (el) { el.value = name; });
    root.querySelectorAll("[data-timezone-name]").forEach(function (el) { el.textContent = name; });
  }
  document.addEventListener("DOMContentLoaded", function () { wire(document); });
  document.addEventListener("htmx:afterSwap", function (event) { wire(event.target); });
})();
