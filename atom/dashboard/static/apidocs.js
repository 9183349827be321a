// Renders the OpenAPI document served by the app: paths, parameters, bodies and responses.
(function () {
  "use strict";
  const root = document.getElementById("apidocs");
  const el = (tag, cls, text) => {
    const n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined) n.textContent = text;
    return n;
  };
  const resolve = (spec, obj) => {
    if (obj && obj.$ref) {
      return obj.$ref.replace(/^#\//, "").split("/").reduce((o, k) => o[k], spec);
    }
    return obj;
  };
  const schemaText = (spec, schema) => JSON.stringify(resolve(spec, schema) || {}, (k, v) =>
    (v && v.$ref) ? resolve(spec, v) : v, 2);
  fetch(root.dataset.spec).then(r => r.json()).then(spec => {
    root.appendChild(el("h1", "", spec.info.title + " " + spec.info.version));
    if (spec.info.description) root.appendChild(el("p", "", spec.info.description));
    const byTag = {};
    Object.entries(spec.paths).forEach(([path, ops]) => {
      Object.entries(ops).forEach(([method, op]) => {
        if (typeof op !== "object" || !op.responses) return;
        const tag = (op.tags && op.tags[0]) || "other";
        (byTag[tag] = byTag[tag] || []).push([path, method, op]);
      });
    });
    Object.keys(byTag).sort().forEach(tag => {
      root.appendChild(el("h2", "", tag));
      byTag[tag].forEach(([path, method, op]) => {
        const d = el("details", "op");
        const s = el("summary");
        s.appendChild(el("span", "method " + method, method.toUpperCase()));
        s.appendChild(el("code", "", " " + path));
        if (op.summary) s.appendChild(el("span", "summary", " — " + op.summary));
        d.appendChild(s);
        if (op.description) d.appendChild(el("p", "", op.description));
        (op.parameters || []).forEach(p => {
          p = resolve(spec, p);
          d.appendChild(el("div", "param", `${p.in} ${p.name}${p.required ? " (required)" : ""}`));
        });
        const body = op.requestBody && resolve(spec, op.requestBody);
        if (body && body.content && body.content["application/json"]) {
          d.appendChild(el("h4", "", "Request body"));
          d.appendChild(el("pre", "", schemaText(spec, body.content["application/json"].schema)));
        }
        d.appendChild(el("h4", "", "Responses"));
        Object.entries(op.responses).forEach(([code, resp]) => {
          resp = resolve(spec, resp);
          d.appendChild(el("div", "resp", code + " " + (resp.description || "")));
          const c = resp.content && resp.content["application/json"];
          if (c && c.schema) d.appendChild(el("pre", "", schemaText(spec, c.schema)));
        });
        root.appendChild(d);
      });
    });
  }).catch(err => { root.textContent = "Could not load the API description: " + err; });
})();
