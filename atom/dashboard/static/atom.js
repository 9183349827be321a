/* ATOM dashboard behaviour. No inline scripts anywhere (CSP script-src 'self'): pages declare
   what they want with data- attributes and this file wires it up, on load and after every htmx
   swap.

   data-chart='{"x":[unix s...],"series":[{"label":"p95 ms","values":[...]}],"unit":"ms"}'
       a uPlot time-series chart (uPlot is loaded by the pages that draw charts)
   data-copy="#id" or data-copy="text"   a button that copies text to the clipboard
   data-confirm="Delete this?"           a form or button that asks first
   data-autosubmit                       a filter form that submits when a field changes
   <time datetime="...Z">                shown in the reader's time zone
   data-json-pretty                      a textarea whose JSON is re-indented on blur
*/
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // htmx requests carry the CSRF token (the API and the dashboard check it on writes).
  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRFToken"] = csrfToken();
  });

  // A failed htmx request shows its message instead of doing nothing.
  document.addEventListener("htmx:responseError", function (event) {
    var target = event.detail.target;
    var xhr = event.detail.xhr;
    if (!target || !xhr) return;
    var text = xhr.statusText || "error";
    try { text = JSON.parse(xhr.responseText).message || text; } catch (e) {
      if (xhr.responseText && xhr.getResponseHeader("Content-Type").indexOf("text/html") === 0) {
        target.innerHTML = xhr.responseText; return;
      }
    }
    var box = document.createElement("div");
    box.className = "result bad";
    box.setAttribute("role", "alert");
    box.textContent = xhr.status + ": " + text;
    target.replaceChildren(box);
  });

  var pad = function (n) { return (n < 10 ? "0" : "") + n; };

  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      if (el.dataset.localised) return;
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d.getTime())) return;
      el.textContent = d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
        pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
      el.title = d.toISOString().replace(".000", "") + " (UTC)";
      el.dataset.localised = "1";
    });
  }

  var palette = ["#2f4ac0", "#dc6803", "#0b6e4f", "#b42318", "#6941c6"];

  function charts(root) {
    if (typeof window.uPlot === "undefined") return;
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      if (el.dataset.drawn) return;
      var spec;
      try { spec = JSON.parse(el.dataset.chart); } catch (e) { return; }
      if (!spec.x || spec.x.length < 2) {
        el.textContent = "Not enough data yet.";
        el.classList.add("muted");
        el.dataset.drawn = "1";
        return;
      }
      var unit = spec.unit || "";
      var sparse = spec.x.length < 60;  // few points (e.g. hourly values): mark each one
      var series = [{}].concat(spec.series.map(function (s, i) {
        return { label: s.label, stroke: s.color || palette[i % palette.length], width: 2,
                 spanGaps: true, points: { show: sparse, size: 6, fill: s.color || palette[i % palette.length] }, value: function (u, v) { return v == null ? "—" : (+v).toFixed(unit === "%" ? 1 : 0) + " " + unit; } };
      }));
      var data = [spec.x].concat(spec.series.map(function (s) { return s.values; }));
      var width = Math.max(240, el.clientWidth || 600);
      var opts = {
        width: width, height: spec.height || 220, series: series,
        scales: unit === "%" ? { y: { range: [0, 100] } } : {},
        axes: [{}, { values: function (u, vals) { return vals.map(function (v) { return v + (unit ? " " + unit : ""); }); },
                     // wide enough for the longest tick label ("4.25 ms", "1200 ms"): a fixed width cut them
                     size: function (u, labels) {
                       var longest = (labels || []).reduce(function (n, l) { return Math.max(n, String(l).length); }, 0);
                       return Math.max(50, longest * 8 + 18);
                     } }],
        legend: { show: true }
      };
      el.replaceChildren();
      var plot = new window.uPlot(opts, data, el);
      el.dataset.drawn = "1";
      if (window.ResizeObserver) {
        new ResizeObserver(function () {
          var w = Math.max(240, el.clientWidth);
          if (Math.abs(w - plot.width) > 4) plot.setSize({ width: w, height: opts.height });
        }).observe(el);
      }
    });
  }

  function copyButtons(root) {
    root.querySelectorAll("[data-copy]").forEach(function (button) {
      if (button.dataset.wired) return;
      button.dataset.wired = "1";
      button.addEventListener("click", function (event) {
        event.preventDefault();
        var source = button.dataset.copy;
        var text = source.charAt(0) === "#" ? (document.querySelector(source) || {}).textContent : source;
        var done = function () {
          var old = button.textContent;
          button.textContent = "Copied";
          setTimeout(function () { button.textContent = old; }, 1500);
        };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText((text || "").trim()).then(done);
        } else {
          var area = document.createElement("textarea");
          area.value = (text || "").trim();
          document.body.appendChild(area);
          area.select();
          try { document.execCommand("copy"); done(); } finally { area.remove(); }
        }
      });
    });
  }

  function confirms(root) {
    root.querySelectorAll("form[data-confirm]").forEach(function (form) {
      if (form.dataset.wired) return;
      form.dataset.wired = "1";
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.dataset.confirm)) event.preventDefault();
      });
    });
    root.querySelectorAll("button[data-confirm]:not([hx-post]):not([hx-delete])").forEach(function (button) {
      if (button.dataset.wired) return;
      button.dataset.wired = "1";
      button.addEventListener("click", function (event) {
        if (!window.confirm(button.dataset.confirm)) event.preventDefault();
      });
    });
  }

  function autosubmit(root) {
    root.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
      if (form.dataset.wired) return;
      form.dataset.wired = "1";
      form.addEventListener("change", function () {
        if (form.requestSubmit) form.requestSubmit(); else form.submit();
      });
    });
  }

  function prettyJson(root) {
    root.querySelectorAll("textarea[data-json-pretty]").forEach(function (area) {
      if (area.dataset.wired) return;
      area.dataset.wired = "1";
      area.addEventListener("blur", function () {
        try { area.value = JSON.stringify(JSON.parse(area.value), null, 2); } catch (e) { /* the server names the error */ }
      });
    });
  }

  function wire(root) {
    localTimes(root); charts(root); copyButtons(root); confirms(root); autosubmit(root); prettyJson(root);
  }

  // htmx's own hx-confirm needs no eval: it is built in. Everything else is wired here.
  document.addEventListener("DOMContentLoaded", function () { wire(document); });
  document.addEventListener("htmx:afterSwap", function (event) { wire(event.detail.elt || document); });
  window.atom = { wire: wire, csrfToken: csrfToken };
})();
