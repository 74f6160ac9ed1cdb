/* The backprop stepper (tinygrad_lite.viz.stepper): the forward graph, then the backward pass
   one step at a time. It reads the JSON that payload.py wrote into the page, draws with SVG
   elements it makes itself (no library, nothing fetched), and puts user text in with
   textContent only. window.tlStepper is the API for tests and embedding. */
(function () {
  "use strict";
  const DATA = JSON.parse(document.getElementById("tl-data").textContent);
  const SETTINGS = JSON.parse(document.getElementById("tl-settings").textContent);
  const NODES = DATA.nodes;
  const STEPS = DATA.steps;
  const svg = document.getElementById("tl-svg");
  const NS = svg.namespaceURI; // the inline <svg>'s namespace, for the elements made here
  const world = document.getElementById("tl-world");
  const panel = document.getElementById("tl-panel");
  const note = document.getElementById("tl-note");
  const BOX_W = 140, GAP_X = 180, GAP_Y = 22, LINE = 14;
  const NEIGHBOURHOOD = 60; // values drawn around the current step when the graph is too big

  // ------------------------------------------------------------ numbers as the page gets them

  const num = (x) => (typeof x === "string" ? Number(x) : x); // "NaN", "Infinity" -> numbers
  const isArray = (v) => v !== null && typeof v === "object";
  const deep = (v) => (Array.isArray(v) ? v.map(deep) : num(v));

  function plain(v) { // what current() returns: a number, nested lists, or a summary
    if (!isArray(v)) return num(v);
    if (v.values !== undefined) return deep(v.values);
    return { shape: v.shape, min: num(v.min), max: num(v.max), mean: num(v.mean) };
  }

  function fmt(x) { // at most four significant digits, like tinygrad_lite.core.number
    x = num(x);
    if (Number.isNaN(x)) return "nan";
    if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
    if (x === 0) return "0";
    const a = Math.abs(x);
    if (a >= 1e5 || a < 1e-4) return x.toExponential(3).replace(/\.?0+e/, "e");
    return String(Number(x.toPrecision(4)));
  }

  const shapeText = (v) => (v.shape.length ? v.shape.join("\u00d7") : "0-d");

  function short(v) { // one line for a value: the number, a tiny array, or its shape
    if (!isArray(v)) return fmt(v);
    if (v.values !== undefined) {
      const flat = [].concat(v.values).flat(Infinity);
      if (flat.length <= 3) return "[" + flat.map(fmt).join(", ") + "]";
    }
    return "[" + shapeText(v) + "]";
  }

  function finite(v) {
    return isArray(v) ? v.nonfinite === 0 : Number.isFinite(num(v));
  }

  // ------------------------------------------------------------ the steps, indexed

  const stepOf = new Map(); // node id -> its step (1 is the output)
  const incoming = new Map(); // node id -> [{step, term}] that send it a product
  STEPS.forEach((s, i) => {
    stepOf.set(s.node, i + 1);
    s.terms.forEach((t) => {
      if (!incoming.has(t.to)) incoming.set(t.to, []);
      incoming.get(t.to).push({ step: i + 1, term: t });
    });
  });
  const children = NODES.map(() => []);
  NODES.forEach((n) => n.parents.forEach((p, k) => children[p].push([n.id, k])));
  let firstBad = 0; // the first step whose gradient is NaN or infinite
  STEPS.forEach((s, i) => {
    if (!firstBad && !finite(s.grad)) firstBad = i + 1;
  });
  const gradName = (id) => "d" + (NODES[id].named ? NODES[id].name : "(" + NODES[id].name + ")");

  // ------------------------------------------------------------ layout: layers as columns

  function boxHeight(n) {
    if (n.kind === "const") return 24;
    return 4 * LINE + 8 + (isArray(n.data) ? 44 : 0);
  }

  function layout(ids) {
    const inView = new Set(ids);
    const ps = (id) => NODES[id].parents.filter((p) => inView.has(p));
    const cs = (id) => children[id].map((c) => c[0]).filter((c) => inView.has(c));
    const col = new Map();
    ids.forEach((id) => { // ids are parents first
      const p = ps(id);
      col.set(id, p.length ? 1 + Math.max(...p.map((q) => col.get(q))) : 0);
    });
    for (let i = ids.length - 1; i >= 0; i--) { // an input sits just left of its first use
      const id = ids[i], c = cs(id);
      if (!ps(id).length && c.length) col.set(id, Math.min(...c.map((q) => col.get(q))) - 1);
    }
    const columns = [];
    ids.forEach((id) => (columns[col.get(id)] = columns[col.get(id)] || []).push(id));
    for (let c = 0; c < columns.length; c++) columns[c] = columns[c] || [];
    const pos = new Map();
    const place = () => columns.forEach((ids_) => ids_.forEach((id, i) => pos.set(id, (i + 0.5) / ids_.length)));
    place();
    const group = (id) => (NODES[id].group === undefined ? -1 - id : NODES[id].group);
    for (let sweep = 0; sweep < 6; sweep++) { // barycentres, alternately from each side
      const order = sweep % 2 ? columns.slice().reverse() : columns;
      order.forEach((column) => {
        const key = new Map();
        column.forEach((id) => {
          const near = sweep % 2 ? cs(id) : ps(id);
          const all = near.length ? near : ps(id).concat(cs(id));
          key.set(id, all.length ? all.reduce((a, q) => a + pos.get(q), 0) / all.length : pos.get(id));
        });
        const byGroup = new Map(); // a module's boxes stay together in a column
        column.forEach((id) => {
          const g = group(id);
          byGroup.set(g, (byGroup.get(g) || []).concat([key.get(id)]));
        });
        const gkey = (id) => byGroup.get(group(id)).reduce((a, b) => a + b, 0) / byGroup.get(group(id)).length;
        column.sort((a, b) => gkey(a) - gkey(b) || group(a) - group(b) || key.get(a) - key.get(b));
      });
      place();
    }
    const at = new Map();
    let height = 0;
    columns.forEach((column) => {
      height = Math.max(height, column.reduce((h, id) => h + boxHeight(NODES[id]) + GAP_Y, -GAP_Y));
    });
    columns.forEach((column, c) => {
      let y = (height - column.reduce((h, id) => h + boxHeight(NODES[id]) + GAP_Y, -GAP_Y)) / 2;
      column.forEach((id) => {
        const n = NODES[id];
        const w = n.kind === "const" ? 60 : BOX_W;
        at.set(id, { x: c * (BOX_W + GAP_X) + (BOX_W - w), y: y, w: w, h: boxHeight(n) });
        y += boxHeight(n) + GAP_Y;
      });
    });
    return { ids: ids, at: at, width: columns.length * (BOX_W + GAP_X) - GAP_X, height: height };
  }

  // the values to draw: all of them, or past the budget the neighbourhood of one value
  const BIG = NODES.length > SETTINGS.budget;
  const fullLayout = BIG ? null : layout(NODES.map((n) => n.id));

  // the value, what it was made from and what used it, two hops out; a value used by many
  // (a weight read by every data point) brings in only its first few users
  function neighbourhood(focus, must) {
    const seen = new Set([focus, ...must]);
    let frontier = [focus, ...must];
    for (let hop = 0; hop < 2 && frontier.length; hop++) {
      const next = [];
      for (const id of frontier) {
        let added = 0;
        for (const q of NODES[id].parents.concat(children[id].map((c) => c[0]))) {
          if (seen.has(q)) continue;
          if (added === 6 || seen.size === NEIGHBOURHOOD) break;
          seen.add(q);
          next.push(q);
          added++;
        }
      }
      frontier = next;
    }
    return Array.from(seen).sort((a, b) => a - b);
  }

  // ------------------------------------------------------------ drawing

  function el(tag, attrs, parent) {
    const e = document.createElementNS(NS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }

  function label(parent, x, y, str, cls, max) {
    const t = el("text", { x: x, y: y, class: cls || "" }, parent);
    t.textContent = max && str.length > max ? str.slice(0, max - 1) + "\u2026" : str;
    return t;
  }

  function tip(parent, str) {
    el("title", {}, parent).textContent = str;
  }

  function matrix(v) { // an array as rows x cols of [value, where] for the heatmap
    if (v.values === undefined) {
      const g = v.grid, out = [];
      for (let r = 0; r < g.rows; r++) {
        out.push(g.cells.slice(r * g.cols, (r + 1) * g.cols).map((c, j) => [num(c), "block mean of a " + g.of.join("\u00d7") + " view, cell " + r + "," + j]));
      }
      return out;
    }
    const shape = v.shape, flat = [].concat(v.values).flat(Infinity).map(num);
    const cols0 = shape.length ? shape[shape.length - 1] : 1;
    const cols = shape.length <= 1 && cols0 > 8 ? 8 : cols0; // a long vector wraps
    const index = (i) => {
      const out = [];
      for (let d = shape.length - 1; d >= 0; d--) { out.unshift(i % shape[d]); i = Math.floor(i / shape[d]); }
      return "[" + out.join(", ") + "]";
    };
    const rows = [];
    for (let i = 0; i < flat.length; i += cols) rows.push(flat.slice(i, i + cols).map((x, j) => [x, index(i + j)]));
    return rows;
  }

  function colour(x, scale) {
    if (!Number.isFinite(x)) return "#c92a2a";
    const t = scale ? Math.min(1, Math.abs(x) / scale) : 0;
    const c = Math.round(255 - t * 200);
    return x >= 0 ? `rgb(255,${c},${c})` : `rgb(${c},${c},255)`;
  }

  function heatmap(parent, v, x, y, w, h) { // exact values on hover (the <title> of a cell)
    const rows = matrix(v);
    const cols = Math.max(...rows.map((r) => r.length));
    const cell = Math.max(2, Math.min(14, Math.floor(w / cols), Math.floor(h / rows.length)));
    const scale = Math.max(0, ...rows.flat().map((c) => (Number.isFinite(c[0]) ? Math.abs(c[0]) : 0)));
    const g = el("g", { class: "heat" }, parent);
    rows.forEach((row, r) => row.forEach((c, j) => {
      const rect = el("rect", { x: x + j * cell, y: y + r * cell, width: cell, height: cell, fill: colour(c[0], scale) }, g);
      tip(rect, c[1] + " = " + String(c[0]));
    }));
    return g;
  }

  function drawNode(n, box, k) {
    const classes = ["node", n.kind];
    const s = stepOf.get(n.id);
    const arrived = (incoming.get(n.id) || []).filter((a) => a.step <= k);
    const done = s !== undefined && s < k;
    if (s === k) classes.push("current");
    else if (done) classes.push("done");
    else if (arrived.length) classes.push("partial");
    if (firstBad && s === firstBad && k >= firstBad) classes.push("nonfinite");
    const g = el("g", { class: classes.join(" "), transform: `translate(${box.x},${box.y})`, "data-id": n.id }, null);
    const rect = el("rect", { class: "box", width: box.w, height: box.h }, g);
    tip(rect, n.name + (n.op ? " (" + n.op + ")" : "") + " [" + n.kind + "]" + (n.module ? " in " + n.module : ""));
    if (n.kind === "const") {
      label(g, 8, 16, n.name, "title", 8);
      return g;
    }
    const op = n.named && n.op ? "(" + n.op + ")" : "";
    label(g, 8, 16, n.name, "title", op ? 12 : 20);
    if (op) label(g, box.w - 6, 16, op, "op", 14).setAttribute("text-anchor", "end");
    let data = isArray(n.data) ? short(n.data) + " " + n.data.dtype : "data " + fmt(n.data);
    label(g, 8, 16 + LINE, data, "", 22);
    const step = s !== undefined ? STEPS[s - 1] : null;
    if (step && (done || s === k)) {
      label(g, 8, 16 + 2 * LINE, gradName(n.id) + " = " + short(step.grad), finite(step.grad) ? "grad" : "bad", 22);
      label(g, 8, 16 + 3 * LINE, "step " + s + (s === firstBad ? ": first non-finite" : ""), s === firstBad ? "bad" : "op", 24);
    } else if (arrived.length) {
      const total = incoming.get(n.id).length;
      const sum = arrived.every((a) => !isArray(a.term.product)) ? " " + fmt(arrived.reduce((a, b) => a + num(b.term.product), 0)) : "";
      label(g, 8, 16 + 2 * LINE, gradName(n.id) + " so far" + sum, "partial", 22);
      const more = arrived.length === total ? "all in: step " + s : arrived.length + " of " + total + " arrived";
      label(g, 8, 16 + 3 * LINE, more, "partial", 24);
    } else if (n.kind === "data") {
      label(g, 8, 16 + 2 * LINE, "data: no gradient", "op", 22);
    }
    if (isArray(n.data)) {
      const shown = step && (done || s === k) && isArray(step.grad) ? step.grad : n.data;
      heatmap(g, shown, 8, 4 * LINE + 4, box.w - 16, 38);
    }
    return g;
  }

  function curve(a, b, slot, slots) { // from the parent's right side to the child's left
    const x1 = a.x + a.w, y1 = a.y + a.h / 2;
    const x2 = b.x, y2 = b.y + b.h / 2 + (slot - (slots - 1) / 2) * Math.min(10, b.h / (slots + 1));
    const dx = Math.max(30, (x2 - x1) / 2);
    const d = `M${x1},${y1} C${x1 + dx},${y1} ${x2 - dx},${y2} ${x2},${y2}`;
    const t = 0.4, u = 1 - t; // the label sits a little nearer the parent, where edges part
    const bez = (a, b, c, e) => u * u * u * a + 3 * u * u * t * b + 3 * u * t * t * c + t * t * t * e;
    return { d: d, mid: [bez(x1, x1 + dx, x2 - dx, x2), bez(y1, y1, y2, y2)] };
  }

  let view = fullLayout;

  function draw(k) {
    const s = k ? STEPS[k - 1] : null;
    if (BIG) {
      const focus = s ? s.node : DATA.output;
      view = layout(neighbourhood(focus, s ? s.terms.map((t) => t.to) : []));
      const total = NODES.filter((n) => n.kind !== "const").length;
      note.textContent = `${total} values, more than this page draws at once (${SETTINGS.budget}): it shows the ${view.ids.length} around the current step (what it was made from, what used it) and folds the rest away; step on to move through the graph.`;
    }
    world.textContent = "";
    const at = view.at;
    const layers = ["edges", "nodes", "labels"].map((c) => el("g", { class: c }, world));
    const active = new Map(); // "child:slot" -> the term sent along that edge at this step
    if (s) {
      const used = new Set();
      s.terms.forEach((t) => {
        const slot = NODES[s.node].parents.findIndex((p, j) => p === t.to && !used.has(j));
        used.add(slot);
        active.set(s.node + ":" + slot, t);
      });
    }
    const sentBefore = (child) => stepOf.get(child) !== undefined && stepOf.get(child) < k;
    view.ids.forEach((id) => {
      const n = NODES[id];
      n.parents.forEach((p, slot) => {
        if (!at.has(p)) return;
        const c = curve(at.get(p), at.get(id), slot, n.parents.length);
        const term = active.get(id + ":" + slot);
        const cls = term ? "edge active" : sentBefore(id) && NODES[p].kind !== "const" && NODES[p].kind !== "data" ? "edge sent" : "edge";
        const g = el("g", { class: cls }, layers[0]);
        const path = el("path", { d: c.d }, g);
        path.setAttribute(term ? "marker-start" : "marker-end", term ? "url(#tl-back)" : "url(#tl-arrow)");
        if (term) edgeLabel(layers[2], c.mid, s, term);
      });
    });
    view.ids.forEach((id) => layers[1].appendChild(drawNode(NODES[id], at.get(id), k)));
  }

  function localNumber(up, product) { // scalar local derivative = product / upstream
    up = num(up); product = num(product);
    if (isArray(up) || isArray(product) || up === 0 || !Number.isFinite(up)) return null;
    return product / up;
  }

  function equation(s, t) { // "dw1 += dz x i1" and "-1 x 1.5 = -1.5"
    const rule = gradName(t.to) + " += " + gradName(s.node) + " " + t.local;
    let numbers;
    if (isArray(s.grad) || isArray(t.product)) {
      numbers = short(s.grad) + " \u00d7 local = " + short(t.product);
    } else {
      const local = localNumber(s.grad, t.product);
      numbers = fmt(s.grad) + " \u00d7 " + (local === null ? "local" : fmt(local)) + " = " + fmt(t.product);
    }
    return [rule, numbers];
  }

  function edgeLabel(parent, mid, s, t) {
    const lines = equation(s, t);
    const w = Math.max(...lines.map((l) => l.length)) * 6.7 + 10;
    const g = el("g", { class: "elabel", transform: `translate(${mid[0] - w / 2},${mid[1] - 17})` }, parent);
    el("rect", { width: w, height: 34 }, g);
    lines.forEach((l, i) => label(g, 5, 14 + i * 14, l, ""));
  }

  // ------------------------------------------------------------ the side panel

  function h(tag, cls, str, parent) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (str !== undefined) e.textContent = str;
    if (parent) parent.appendChild(e);
    return e;
  }

  function bigValue(parent, v) {
    if (!isArray(v)) return h("div", "eq", fmt(v) + "   (" + String(num(v)) + ")", parent);
    const box = h("div", "eq", `shape ${shapeText(v)}, ${v.dtype}; min ${fmt(v.min)}, max ${fmt(v.max)}, mean ${fmt(v.mean)}` + (v.nonfinite ? `; ${v.nonfinite} not finite` : "") + (v.values === undefined ? " (heatmap: block means)" : ""), parent);
    const s = document.createElementNS(NS, "svg");
    const rows = matrix(v);
    const cols = Math.max(...rows.map((r) => r.length));
    const cell = Math.max(4, Math.min(22, Math.floor(300 / cols)));
    s.setAttribute("width", cols * cell);
    s.setAttribute("height", rows.length * cell);
    heatmap(s, v, 0, 0, cols * cell, rows.length * cell);
    h("div", "", undefined, box).appendChild(s);
    return box;
  }

  function showPanel(k) {
    panel.textContent = "";
    const out = NODES[DATA.output];
    if (firstBad && k >= firstBad) {
      h("p", "bad", `The first gradient that is not finite (NaN or infinite) is ${gradName(STEPS[firstBad - 1].node)}, at step ${firstBad}.`, panel);
    }
    if (!k) {
      h("h2", "", "The forward graph", panel);
      h("p", "", `${NODES.filter((n) => n.kind !== "const").length} values, inputs on the left, ${out.name} on the right, one column per layer of the computation. Backward takes ${STEPS.length} steps from ${gradName(out.id)} back to the parameters.`, panel);
      h("p", "hint", "next \u25b6 or the right arrow key: the next step; Home, End: the first and last; drag to pan, the mouse wheel to zoom.", panel);
      const legend = h("p", "legend", "", panel);
      [["#fff2cc", "parameter"], ["#eee", "data"], ["#fff", "computed"], ["#d5e8d4", "output"], ["#f4f4f4", "number in the node"]].forEach((c) => {
        const sw = h("span", "", undefined, legend);
        sw.style.background = c[0];
        legend.appendChild(document.createTextNode(c[1]));
      });
      return;
    }
    const s = STEPS[k - 1], n = NODES[s.node];
    h("h2", "", `Step ${k} of ${STEPS.length}: ${gradName(n.id)}`, panel);
    h("p", "", `The gradient of ${out.name} with respect to ${n.name}${n.op ? " (" + n.op + ")" : ""} is complete:`, panel);
    if (n.module) h("p", "hint", "made by the module " + n.module, panel);
    const arrived = incoming.get(n.id) || [];
    if (n.id === DATA.output) {
      h("p", "hint", `the output: backward starts from d${out.name}/d${out.name} (the seed).`, panel);
    } else if (arrived.length > 1) {
      h("p", "", `${n.name} is used ${arrived.length} times, so ${gradName(n.id)} is the sum of the ${arrived.length} products sent to it:`, panel);
      arrived.forEach((a) => h("div", "eq", `+ ${short(a.term.product)}   from ${gradName(STEPS[a.step - 1].node)} (step ${a.step})`, panel));
    } else if (arrived.length === 1) {
      h("p", "hint", `the product sent by ${gradName(STEPS[arrived[0].step - 1].node)} at step ${arrived[0].step}.`, panel);
    }
    bigValue(panel, s.grad);
    if (s.error) h("p", "bad", "its backward rule raised: " + s.error, panel);
    if (!s.terms.length) {
      h("p", "hint", n.kind === "param" ? `${n.name} is a parameter: this is what ${n.name}.grad holds after backward() (leaves add each pass to what they hold).` : "nothing to send: this value has no parent that needs a gradient.", panel);
      return;
    }
    h("h3", "", "sent to its parents: upstream \u00d7 local = product", panel);
    s.terms.forEach((t) => {
      const [rule, numbers] = equation(s, t);
      h("div", "eq", rule, panel);
      if (isArray(t.product)) bigValue(panel, t.product);
      else h("div", "eq", numbers, panel);
    });
  }

  // ------------------------------------------------------------ pan, zoom, fit

  let tx = 0, ty = 0, scale = 1;
  const apply = () => world.setAttribute("transform", `translate(${tx},${ty}) scale(${scale})`);

  // all=true (the fit button): the whole graph, however small; otherwise no smaller than
  // readable, centred on the current value (the output before the first step)
  function fit(all) {
    const r = svg.getBoundingClientRect();
    const whole = Math.min(1.4, r.width / (view.width + 40), r.height / (view.height + 60)) || 1;
    scale = all === true ? whole : Math.max(whole, 0.75);
    tx = (r.width - view.width * scale) / 2;
    ty = (r.height - view.height * scale) / 2;
    apply();
    if (scale > whole) follow(current ? STEPS[current - 1].node : DATA.output, true);
  }

  function follow(id, centre) { // keep the current value in sight
    const b = view.at.get(id), r = svg.getBoundingClientRect();
    if (!b) return;
    const x = tx + (b.x + b.w / 2) * scale, y = ty + (b.y + b.h / 2) * scale;
    if (centre || x < 0 || y < 0 || x > r.width || y > r.height) {
      tx += r.width / 2 - x;
      ty += r.height / 2 - y;
      apply();
    }
  }

  let drag = null;
  svg.addEventListener("pointerdown", (e) => {
    drag = [e.clientX - tx, e.clientY - ty];
    svg.classList.add("dragging");
  });
  window.addEventListener("pointermove", (e) => {
    if (!drag) return;
    tx = e.clientX - drag[0];
    ty = e.clientY - drag[1];
    apply();
  });
  window.addEventListener("pointerup", () => {
    drag = null;
    svg.classList.remove("dragging");
  });
  svg.addEventListener("wheel", (e) => {
    e.preventDefault();
    const r = svg.getBoundingClientRect(), px = e.clientX - r.left, py = e.clientY - r.top;
    const k = Math.min(8, Math.max(0.05, scale * Math.exp(-e.deltaY * 0.0015)));
    tx = px - ((px - tx) * k) / scale;
    ty = py - ((py - ty) * k) / scale;
    scale = k;
    apply();
  }, { passive: false });
  window.addEventListener("resize", () => fit(false));

  // ------------------------------------------------------------ stepping

  let current = 0;
  const status = document.getElementById("tl-status");
  const buttons = ["home", "prev", "next", "end", "fit"].map((b) => document.getElementById("tl-" + b));

  function show(k) {
    current = Math.max(0, Math.min(STEPS.length, Math.floor(Number(k)) || 0));
    draw(current);
    showPanel(current);
    status.textContent = current ? `step ${current} of ${STEPS.length}` : `forward graph (${STEPS.length} steps)`;
    buttons[0].disabled = buttons[1].disabled = current === 0;
    buttons[2].disabled = buttons[3].disabled = current === STEPS.length;
    if (BIG) fit(false);
    else if (current) follow(STEPS[current - 1].node);
    return api.current();
  }

  const api = {
    count: STEPS.length,
    goto: (k) => show(k),
    next: () => show(current + 1),
    prev: () => show(current - 1),
    current: () => {
      if (!current) return null;
      const s = STEPS[current - 1];
      return {
        step: current,
        name: NODES[s.node].name,
        grad: plain(s.grad),
        terms: s.terms.map((t) => ({ to: NODES[t.to].name, local: t.local, product: plain(t.product) })),
      };
    },
  };
  window.tlStepper = api;

  buttons[0].addEventListener("click", () => show(0));
  buttons[1].addEventListener("click", () => show(current - 1));
  buttons[2].addEventListener("click", () => show(current + 1));
  buttons[3].addEventListener("click", () => show(STEPS.length));
  buttons[4].addEventListener("click", () => fit(true));
  document.addEventListener("keydown", (e) => {
    const to = { ArrowRight: current + 1, ArrowDown: current + 1, ArrowLeft: current - 1, ArrowUp: current - 1, Home: 0, End: STEPS.length }[e.key];
    if (to === undefined || e.altKey || e.ctrlKey || e.metaKey) return;
    e.preventDefault();
    show(to);
  });
  show(0);
  fit(false);
})();
