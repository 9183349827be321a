/* /api/docs: Swagger UI (vendored) on the OpenAPI document, inside the dashboard's layout.

   "Try it out" runs as the signed-in user: fetch sends the session cookie (same origin), and
   every write carries the page's CSRF token as X-CSRFToken, which the API checks for session
   writes (atom/api/auth.py). An API key entered with "Authorize" is sent instead, as usual.
   No inline script or style and no eval: this file is the only configuration. */
(function () {
  "use strict";

  var READS = { GET: true, HEAD: true, OPTIONS: true };

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // The layout already has the page's one h1 and says what the API is: Swagger UI's own
  // title block (an h1) is left out.
  function LayoutFits() {
    return { components: { InfoContainer: function () { return null; } } };
  }

  // Swagger UI leaves some of its fields without an accessible name; give each one the name
  // of what it is (the parameter, the request body, the media type).
  function nameFields(root) {
    root.querySelectorAll("input, select, textarea").forEach(function (el) {
      if (el.type === "hidden" || el.getAttribute("aria-label") || el.getAttribute("aria-labelledby")) return;
      if ((el.id && document.querySelector('label[for="' + CSS.escape(el.id) + '"]')) || el.closest("label")) return;
      var name = "";
      var param = el.closest("tr[data-param-name]");
      if (param) {
        name = param.getAttribute("data-param-name") + " (" + param.getAttribute("data-param-in") + " parameter)";
        if (el.closest(".parameter__empty_value_toggle")) name = "Send empty value for " + name;
      } else if (el.closest(".body-param")) {
        name = el.tagName === "SELECT" ? "Request body media type" : "Request body";
      } else if (el.closest(".response-control-media-type, .responses-inner")) {
        name = "Response media type";
      } else if (el.closest(".auth-container")) {
        name = "API key (bearer token)";
      } else if (el.closest(".servers")) {
        name = "Server";
      } else if (el.placeholder) {
        name = el.placeholder;
      } else {
        name = el.name || el.tagName.toLowerCase();
      }
      el.setAttribute("aria-label", name);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("swagger-ui");
    if (!root || typeof window.SwaggerUIBundle === "undefined") return;
    window.SwaggerUIBundle({
      url: root.getAttribute("data-spec"),
      domNode: root,
      presets: [window.SwaggerUIBundle.presets.apis],
      plugins: [LayoutFits],
      layout: "BaseLayout",
      deepLinking: true,
      docExpansion: "list",
      defaultModelsExpandDepth: 0,
      displayRequestDuration: true,
      validatorUrl: null,  // no badge fetched from swagger.io
      requestInterceptor: function (request) {
        var method = (request.method || "GET").toUpperCase();
        if (!READS[method]) request.headers["X-CSRFToken"] = csrfToken();
        request.credentials = "same-origin";
        return request;
      }
    });
    nameFields(root);
    new MutationObserver(function () { nameFields(root); }).observe(root, { childList: true, subtree: true });
  });
})();
