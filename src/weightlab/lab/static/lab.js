// weightlab lab: the page.  Plain JavaScript, no build step.
//
// The server does the work; this file builds the forms from the API's JSON schemas,
// keeps the whole setup in the URL, sends requests, listens to the session's event
// stream and draws frames with Plotly.
"use strict";

(() => {
  // The trained sections (tabs, URL prefixes) come from the server's section registry
  // (GET /api/meta), in start(); landscape and runs are this page's own tabs.
  const TABS = ["landscape", "runs"];
  const TRAINED = [];
  const PREFIX = { landscape: "land" };
  const TOY = ["circle", "xor", "gauss", "spiral", "moons"];
  const COLORS = {
    network: "#1f6feb",
    regularized: "#d1242f",
    plain: "#1f6feb",
    theory: "#6a737d",
    grad: "#8250df",
    zeros: "#d1242f",
  };
  const LABELS = {
    dataset: "Dataset",
    n_samples: "Samples",
    noise: "Noise",
    depth: "Depth (hidden)",
    width: "Width",
    activation: "Activation",
    init: "Init scheme",
    gain_from_activation: "Gain per layer",
    seed: "Seed",
    optimizer: "Optimizer",
    lr: "Learning rate",
    batch_size: "Batch size",
    max_steps: "Max steps",
    regularizer: "Regularizer",
    function: "Loss J(w)",
    penalty: "Penalty",
    grid: "Grid",
    steps: "GD steps",
    rule: "L1 rule (GD)",
  };
  const SCHEME_NOTES = {
    xavier_fan_in: "xavier_fan_in (the seed's 1/n rule)",
    lsuv: "lsuv (data-dependent)",
  };
  const HIDDEN = {
    n_samples: (v) => v.dataset !== "digits",
    noise: (v) => TOY.includes(v.dataset),
    rule: (v) => v.penalty === "l1",
    lam: () => false,
    start: () => false,
  };
  const PLOT_CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["sendDataToCloud"] };
  const CURVES = ["val_loss", "train_loss", "val_acc", "train_acc", "gap", "sparsity_zero"];

  const state = {
    meta: null,
    session: null,
    events: null,
    streamReady: null,
    tab: "init",
    values: {},
    generation: { init: 0, regularization: 0 },
    shownStep: { init: -1, regularization: -1 },
    running: { init: false, regularization: false },
    configured: { init: false, regularization: false },
    statics: {},
    frames: {},
    pending: {},
    drawQueued: false,
    counters: {},
    landscape: null,
    landscapeBusy: false,
    landscapeDirty: false,
    runs: { sweep: "", run: null, compare: [], metric: "val_loss", cache: {} },
  };
  window.weightlab = state; // for the browser tests and the curious

  const $ = (selector) => document.querySelector(selector);
  const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v : null);
  const fmt = (v, digits = 3) => {
    if (v === null || v === undefined) return "";
    if (typeof v !== "number") return String(v);
    return Number.isInteger(v) ? String(v) : v.toPrecision(digits);
  };
  const pct = (v) => (num(v) === null ? "" : `${(100 * v).toFixed(1)}%`);
  const escape = (text) =>
    String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

  // -- requests ---------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(message, status, parameter) {
      super(message);
      this.status = status;
      this.parameter = parameter;
    }
  }

  async function api(method, path, body) {
    const init = { method, headers: {} };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    const text = await response.text();
    const data = text && response.headers.get("content-type")?.includes("json") ? JSON.parse(text) : text;
    if (!response.ok) {
      throw new ApiError(data?.error || response.statusText, response.status, data?.parameter);
    }
    return data;
  }

  // Run `request` and give its answer only if no newer request of the same key started.
  const STALE = Symbol("stale");
  async function latest(key, request) {
    const n = (state.counters[key] = (state.counters[key] || 0) + 1);
    try {
      const value = await request();
      return state.counters[key] === n ? value : STALE;
    } catch (error) {
      if (state.counters[key] !== n) return STALE;
      throw error;
    }
  }

  // A session call that makes a new session once if the server forgot this one.
  async function sessionCall(method, tail, body) {
    try {
      return await api(method, `/api/sessions/${state.session}/${tail}`, body);
    } catch (error) {
      if (error.status === 404 && error.parameter === "session_id") {
        await connect();
        return api(method, `/api/sessions/${state.session}/${tail}`, body);
      }
      throw error;
    }
  }

  function showError(section, error) {
    const box = $(`#${section}-error`);
    if (box) box.textContent = error ? error.message || String(error) : "";
    document.querySelectorAll(`#${section}-form .invalid`).forEach((el) => el.classList.remove("invalid"));
    if (error?.parameter) {
      document.querySelector(`#${section}-form [name="${error.parameter}"]`)?.classList.add("invalid");
    }
  }

  // -- the session and its stream ---------------------------------------------------------

  async function connect() {
    if (state.events) state.events.close();
    const { session } = await api("POST", "/api/sessions");
    state.session = session;
    let ready;
    state.streamReady = new Promise((resolve) => (ready = resolve));
    const events = new EventSource(`/api/sessions/${session}/events`);
    state.events = events;
    events.addEventListener("hello", () => {
      $("#connection").textContent = "live";
      ready();
      resync();
    });
    events.addEventListener("frame", (event) => onFrame(JSON.parse(event.data)));
    events.addEventListener("closed", () => reconnect());
    events.onerror = () => {
      $("#connection").textContent = "reconnecting…";
      if (events.readyState === EventSource.CLOSED) setTimeout(reconnect, 1000);
    };
    for (const section of TRAINED) {
      if (state.configured[section]) await configure(section);
    }
  }

  async function reconnect() {
    if (state.events?.readyState === EventSource.OPEN) return;
    try {
      await connect();
    } catch (error) {
      $("#connection").textContent = "offline";
      setTimeout(reconnect, 3000);
    }
  }

  // After the stream (re)connects, ask for the state it may have missed.
  async function resync() {
    for (const section of TRAINED) {
      if (!state.configured[section]) continue;
      try {
        const frame = await sessionCall("GET", section);
        acceptFrame(frame);
      } catch (error) {
        showError(section, error);
      }
    }
  }

  function onFrame(frame) {
    if (frame.error) {
      showError(frame.section, new Error(frame.error));
      state.running[frame.section] = false;
      updateButtons(frame.section, state.frames[frame.section]);
      if (frame.step === undefined) return;
    }
    if (frame.generation !== state.generation[frame.section]) return;
    if (frame.step < state.shownStep[frame.section]) return;
    acceptFrame(frame);
  }

  function acceptFrame(frame) {
    const section = frame.section;
    state.generation[section] = frame.generation;
    state.shownStep[section] = frame.step;
    state.running[section] = frame.running;
    if (frame.points !== undefined) state.statics[section] = { points: frame.points, dataset: frame.dataset };
    state.frames[section] = frame;
    state.pending[section] = frame;
    if (!state.drawQueued) {
      state.drawQueued = true;
      requestAnimationFrame(drawPending);
    }
  }

  function drawPending() {
    state.drawQueued = false;
    for (const [section, frame] of Object.entries(state.pending)) {
      if (state.tab !== section) continue; // drawn when its tab is shown
      delete state.pending[section];
      DRAW[section](frame);
    }
  }

  // -- forms built from the API's JSON schemas --------------------------------------------

  function fieldType(prop) {
    const options = prop.anyOf || [prop];
    const main = options.find((o) => o.type !== "null") || prop;
    return { ...prop, ...main, optional: options.some((o) => o.type === "null") };
  }

  function inputFor(section, name, prop) {
    const type = fieldType(prop);
    let input;
    if (name === "init") {
      input = document.createElement("select");
      const names = [...state.meta.schemes, ...state.meta.scheme_presets];
      for (const scheme of names) input.add(new Option(SCHEME_NOTES[scheme] || scheme, scheme));
    } else if (type.enum) {
      input = document.createElement("select");
      for (const option of type.enum) input.add(new Option(option, option));
    } else if (type.type === "boolean") {
      input = document.createElement("input");
      input.type = "checkbox";
    } else if (type.type === "integer" || type.type === "number") {
      input = document.createElement("input");
      input.type = "number";
      input.step = type.type === "integer" ? "1" : "any";
      const low = type.minimum ?? type.exclusiveMinimum;
      const high = type.maximum ?? type.exclusiveMaximum;
      if (low !== undefined) input.min = low;
      if (high !== undefined) input.max = high;
      if (type.optional) input.placeholder = "default";
    } else {
      input = document.createElement("input");
      input.type = "text";
    }
    input.name = name;
    input.dataset.kind = type.type === "array" ? "pair" : type.type || "string";
    input.dataset.optional = type.optional ? "1" : "";
    input.title = prop.description || "";
    return input;
  }

  function buildForm(section, schema, onChange) {
    const form = $(`#${section}-form`);
    form.replaceChildren();
    for (const [name, prop] of Object.entries(schema.properties)) {
      const label = document.createElement("label");
      label.dataset.field = name;
      const text = LABELS[name] || (name.includes(".") ? name.split(".")[1].replace("_", " ") : prop.title || name);
      label.append(text, inputFor(section, name, prop));
      form.append(label);
    }
    form.addEventListener("change", () => onChange(section));
    form.addEventListener("submit", (event) => event.preventDefault());
  }

  function readValue(input) {
    const raw = input.value.trim();
    switch (input.dataset.kind) {
      case "boolean":
        return input.checked;
      case "integer":
      case "number": {
        if (raw === "" && input.dataset.optional) return null;
        const value = Number(raw);
        return raw === "" || Number.isNaN(value) ? raw : value;
      }
      case "pair":
        return raw === "" ? null : raw.split(",").map(Number);
      default:
        return raw;
    }
  }

  function writeValue(input, value) {
    if (input.dataset.kind === "boolean") input.checked = Boolean(value);
    else if (input.dataset.kind === "pair") input.value = value ? value.join(",") : "";
    else {
      if (input.tagName === "SELECT" && value !== null && ![...input.options].some((o) => o.value === String(value))) {
        input.add(new Option(String(value), String(value))); // a spec from a shared link
      }
      input.value = value === null || value === undefined ? "" : String(value);
    }
  }

  function readForm(section) {
    const values = {};
    for (const input of $(`#${section}-form`).elements) {
      if (!input.name) continue;
      values[input.name] = readValue(input);
    }
    if (values.dataset === "digits") values.n_samples = null;
    return values;
  }

  function writeForm(section, values) {
    for (const input of $(`#${section}-form`).elements) {
      if (input.name && input.name in values) writeValue(input, values[input.name]);
    }
    showFields(section, values);
  }

  function showFields(section, values) {
    for (const label of $(`#${section}-form`).querySelectorAll("label")) {
      const field = label.dataset.field;
      const rule = HIDDEN[field];
      // A regularization term's parameter ("l1.strength") shows with its term only.
      const term = field.includes(".") ? field.split(".")[0] : null;
      label.hidden = term ? values.regularizer !== term : rule ? !rule(values) : false;
    }
  }

  // -- the URL holds the whole setup ------------------------------------------------------

  function encode(value) {
    if (value === null) return "null";
    if (Array.isArray(value)) return value.join(",");
    return String(value);
  }

  function decode(raw, prop) {
    if (raw === "null") return null;
    const type = prop ? fieldType(prop).type : "string";
    if (type === "boolean") return raw === "true";
    if (type === "array") return raw.split(",").map(Number);
    if (type === "integer" || type === "number") {
      const value = Number(raw);
      return raw === "" || Number.isNaN(value) ? raw : value;
    }
    return raw;
  }

  function saveUrl() {
    const params = new URLSearchParams({ tab: state.tab });
    for (const [section, prefix] of Object.entries(PREFIX)) {
      const defaults = state.meta.defaults[section];
      for (const [key, value] of Object.entries(state.values[section] || {})) {
        if (JSON.stringify(value) !== JSON.stringify(defaults[key])) params.set(`${prefix}.${key}`, encode(value));
      }
    }
    const runs = state.runs;
    if (runs.sweep) params.set("runs.sweep", runs.sweep);
    if (runs.run !== null) params.set("runs.run", runs.run);
    if (runs.compare.length) params.set("runs.compare", runs.compare.join(","));
    if (runs.metric !== "val_loss") params.set("runs.metric", runs.metric);
    history.replaceState(null, "", `${location.pathname}?${params}`);
  }

  function loadUrl() {
    const params = new URLSearchParams(location.search);
    state.tab = TABS.includes(params.get("tab")) ? params.get("tab") : "init";
    for (const [section, prefix] of Object.entries(PREFIX)) {
      const values = { ...state.meta.defaults[section] };
      for (const [key, raw] of params) {
        const [head, name] = key.split(/\.(.*)/s);
        if (head === prefix && name) values[name] = decode(raw, state.meta.schemas[section].properties[name]);
      }
      state.values[section] = values;
    }
    const runs = state.runs;
    runs.sweep = params.get("runs.sweep") || "";
    runs.run = params.has("runs.run") ? Number(params.get("runs.run")) : null;
    runs.compare = (params.get("runs.compare") || "").split(",").filter(Boolean).map(Number);
    runs.metric = params.get("runs.metric") || "val_loss";
  }

  // -- tabs ------------------------------------------------------------------------------

  function showTab(tab) {
    state.tab = tab;
    for (const name of TABS) $(`#${name}`).hidden = name !== tab;
    for (const button of document.querySelectorAll("#tabs button")) {
      button.classList.toggle("active", button.dataset.tab === tab);
    }
    saveUrl();
    if (TRAINED.includes(tab) && !state.configured[tab]) configure(tab);
    else if (tab === "landscape" && !state.landscape) requestLandscape();
    else if (tab === "runs") loadRuns();
    if (state.pending[tab]) drawPending();
    window.dispatchEvent(new Event("resize")); // plots drawn while hidden take their size
  }

  // -- the trained sections: setup, play, pause, step, reset ------------------------------

  async function configure(section) {
    const values = state.values[section];
    showFields(section, values);
    // A slow setup (a first MNIST-1D load, LSUV on a big network) says what it is doing.
    const slow = setTimeout(() => ($(`#${section}-status`).textContent = "setting up…"), 300);
    try {
      const frame = await latest(section, () => sessionCall("PUT", section, values));
      if (frame === STALE) return;
      state.configured[section] = true;
      showError(section, null);
      state.shownStep[section] = -1;
      acceptFrame(frame);
    } catch (error) {
      showError(section, error);
      updateButtons(section, state.frames[section]);
    } finally {
      clearTimeout(slow);
    }
  }

  function onSetupChange(section) {
    state.values[section] = readForm(section);
    saveUrl();
    configure(section);
  }

  async function control(section, action) {
    try {
      if (action === "play") {
        await state.streamReady;
        const body = { steps_per_frame: 5 };
        await sessionCall("POST", `${section}/play`, body);
        state.running[section] = true;
        updateButtons(section, state.frames[section]);
        showError(section, null);
        return;
      }
      const body = action === "step" ? { steps: stepsWanted(section) } : undefined;
      const method = "POST";
      const frame = await latest(section, () => sessionCall(method, `${section}/${action}`, body));
      if (frame === STALE) return;
      showError(section, null);
      if (action === "reset") state.shownStep[section] = -1;
      acceptFrame(frame);
    } catch (error) {
      showError(section, error);
    }
  }

  function stepsWanted(section) {
    const value = Number(document.querySelector(`.controls[data-section="${section}"] [data-role="steps"]`).value);
    return Number.isInteger(value) && value > 0 ? value : 1;
  }

  function updateButtons(section, frame) {
    const bar = document.querySelector(`.controls[data-section="${section}"]`);
    const running = state.running[section];
    const ready = frame?.status === "ready";
    bar.querySelector('[data-action="play"]').disabled = running || !ready;
    bar.querySelector('[data-action="pause"]').disabled = !running;
    bar.querySelector('[data-action="step"]').disabled = running || !ready;
    const what = running ? "training" : frame?.status === "ready" ? "paused" : frame?.status || "";
    $(`#${section}-status`).textContent = frame ? `step ${frame.step} / ${frame.max_steps} · ${what}` : "";
    $(`#${section}-status`).dataset.step = frame ? frame.step : "";
    $(`#${section}-status`).dataset.running = running ? "1" : "0";
  }

  // -- drawing helpers ---------------------------------------------------------------------

  function plot(id, traces, layout) {
    const base = {
      margin: { l: 55, r: 45, t: 36, b: 70 },
      font: { size: 11 },
      legend: { orientation: "h", x: 0, y: -0.12, yanchor: "top" },
      ...layout,
    };
    Plotly.react(id, traces, base, PLOT_CONFIG);
  }

  function bars(hist, name, color, axes = {}) {
    const width = (hist.high - hist.low) / Math.max(hist.counts.length, 1);
    return {
      type: "bar",
      x: hist.counts.map((_, i) => hist.low + (i + 0.5) * width),
      y: hist.counts,
      width,
      name,
      marker: { color },
      hovertemplate: "%{x:.3g}: %{y}<extra></extra>",
      ...axes,
    };
  }

  // Small multiples: one histogram per layer in a grid of subplots.
  function histogramGrid(id, layers, key, color, title) {
    const columns = Math.min(layers.length, 6);
    const rows = Math.ceil(layers.length / columns);
    const traces = [];
    const layout = {
      title: { text: title, font: { size: 13 }, y: 0.99, yanchor: "top" },
      grid: { rows, columns, pattern: "independent", xgap: 0.12, ygap: 0.4 },
      showlegend: false,
      height: 70 + 160 * rows,
      margin: { l: 30, r: 10, t: 64, b: 24 },
      annotations: [],
    };
    layers.forEach((layer, i) => {
      const n = i === 0 ? "" : i + 1;
      const hist = layer[key];
      if (!hist || !hist.counts.length) return;
      traces.push(bars(hist, layer.name, color, { xaxis: `x${n}`, yaxis: `y${n}` }));
      layout[`xaxis${n}`] = { tickfont: { size: 9 }, nticks: 4 };
      layout[`yaxis${n}`] = { tickfont: { size: 9 }, nticks: 3 };
      const last = i === layers.length - 1;
      layout.annotations.push({
        text: last ? `output layer ${i + 1}` : `layer ${i + 1} · ${layer.activation}`,
        xref: `x${n} domain`,
        yref: `y${n} domain`,
        x: 0.5,
        y: 1.18,
        showarrow: false,
        font: { size: 10 },
      });
    });
    plot(id, traces, layout);
  }

  function message(id, text) {
    const box = document.getElementById(id);
    if (window.Plotly && box.data) Plotly.purge(box);
    box.innerHTML = `<p class="note" style="padding:1rem">${escape(text)}</p>`;
  }

  function table(id, header, rows, textColumns = [0]) {
    const align = (i) => (textColumns.includes(i) ? ' class="text"' : "");
    const head = `<tr>${header.map((h, i) => `<th${align(i)}>${escape(h)}</th>`).join("")}</tr>`;
    const body = rows
      .map((row) => `<tr>${row.map((cell, i) => `<td${align(i)}>${cell}</td>`).join("")}</tr>`)
      .join("");
    document.getElementById(id).innerHTML = `<table>${head}${body}</table>`;
  }

  function curve(frame, arm, key, options) {
    return {
      type: "scatter",
      mode: "lines",
      x: frame.steps,
      y: arm.curves[key].map(num),
      ...options,
    };
  }

  // -- the init explorer -------------------------------------------------------------------

  function drawInit(frame) {
    updateButtons("init", frame);
    const m = frame.measurement;
    const layers = m.layers;
    histogramGrid("init-activations", layers, "post_hist", COLORS.network, "Activations a = φ(z), per layer");
    histogramGrid("init-gradients", layers, "grad_hist", COLORS.grad, "Weight gradients ∂L/∂W, per layer");
    const depth = layers.map((_, i) => i + 1);
    plot(
      "init-variance",
      [
        { x: depth, y: layers.map((l) => num(l.pre_var)), name: "Var(z) measured", mode: "lines+markers", line: { color: COLORS.network } },
        { x: depth, y: layers.map((l) => num(l.predicted_pre_var)), name: "Var(z) theory", mode: "lines", line: { color: COLORS.theory, dash: "dash" } },
        { x: depth, y: layers.map((l) => num(l.weight_grad_var)), name: "Var(∂W)", mode: "lines+markers", line: { color: COLORS.grad } },
      ],
      {
        title: { text: "Variance against depth (layer 1 … L)", font: { size: 13 } },
        xaxis: { dtick: 1 },
        yaxis: { type: "log", exponentformat: "power" },
      },
    );
    const arm = frame.arms[0];
    plot(
      "init-loss",
      [
        curve(frame, arm, "train_loss", { name: "train loss", line: { color: COLORS.network } }),
        curve(frame, arm, "val_loss", { name: "validation loss", line: { color: COLORS.network, dash: "dash" } }),
        curve(frame, arm, "val_acc", { name: "validation accuracy", yaxis: "y2", line: { color: "#1a7f37", dash: "dot" } }),
      ],
      {
        title: { text: "Loss and accuracy against step", font: { size: 13 } },
        yaxis: { rangemode: "tozero" },
        yaxis2: { overlaying: "y", side: "right", range: [0, 1], tickmode: "linear", dtick: 0.25, tickformat: ".0%", showgrid: false },
      },
    );
    drawBoundary(frame);
    drawFlags(m);
    table(
      "init-layers",
      ["layer", "units", "Var(z)", "theory", "Var(∂W)", "dead", "saturated", "distinct units"],
      layers.map((l, i) => [
        i === layers.length - 1 ? `${i + 1} · output` : `${i + 1} · ${escape(l.activation)}`,
        l.units,
        fmt(l.pre_var),
        fmt(l.predicted_pre_var),
        fmt(l.weight_grad_var),
        pct(l.dead_fraction),
        pct(l.saturated_fraction),
        `${l.distinct_units} / ${l.units}`,
      ]),
    );
  }

  function drawBoundary(frame) {
    const statics = state.statics.init;
    if (!frame.boundary || !statics?.points) {
      message("init-boundary", "The decision boundary is drawn for the 2-D datasets (circle, xor, gauss, spiral, moons).");
      return;
    }
    const b = frame.boundary;
    const p = statics.points;
    const side = (label) => ({
      type: "scatter",
      mode: "markers",
      x: p.x1.filter((_, i) => p.label[i] === label),
      y: p.x2.filter((_, i) => p.label[i] === label),
      name: `class ${label}`,
      marker: { size: 5, color: label ? "#0550ae" : "#bc4c00", line: { width: 0.6, color: "white" } },
    });
    plot(
      "init-boundary",
      [
        {
          type: "heatmap",
          x: b.x1,
          y: b.x2,
          z: b.p,
          zmin: 0,
          zmax: 1,
          zsmooth: "best",
          colorscale: [[0, "#f2b58c"], [0.5, "#ffffff"], [1, "#8fb8e8"]],
          showscale: false,
          hoverinfo: "skip",
        },
        { type: "contour", x: b.x1, y: b.x2, z: b.p, contours: { start: 0.5, end: 0.5, size: 1, coloring: "lines" }, line: { color: "black", width: 1.5 }, showscale: false, hoverinfo: "skip", name: "P = ½" },
        side(0),
        side(1),
      ],
      {
        title: { text: "Decision boundary (P(class 1))", font: { size: 13 } },
        xaxis: { range: [b.x1[0], b.x1[b.x1.length - 1]], constrain: "domain" },
        yaxis: { range: [b.x2[0], b.x2[b.x2.length - 1]], scaleanchor: "x", constrain: "domain" },
      },
    );
  }

  function drawFlags(m) {
    const box = $("#init-flags");
    const items = m.flags.map((f) => `<div data-kind="${escape(f.kind)}"><b>${escape(f.kind.replace("_", " "))}</b>: ${escape(f.message)}</div>`);
    if (!items.length) items.push('<div class="ok">No flags: activations and gradients keep their scale through the depth.</div>');
    const rec = m.recommendation;
    items.push(`<div class="rec"><b>Suggested</b>: ${escape(rec.scheme)}${rec.gain_from_activation ? " with per-layer gains" : ""}. ${escape(rec.reason)}</div>`);
    box.innerHTML = items.join("");
  }

  // -- the regularization explorer ---------------------------------------------------------

  function drawRegularization(frame) {
    updateButtons("regularization", frame);
    const about = frame.arms[0].about;
    $("#regularization-rule").textContent = about.length
      ? about.join("\n\n")
      : "No regularization: the two networks should train alike.";
    for (const arm of frame.arms) drawWeights(arm);
    const traces = (key, dash) =>
      frame.arms.map((arm) =>
        curve(frame, arm, key, { name: `${arm.name}: ${key.replace("_", " ")}`, line: { color: COLORS[arm.name], dash } }),
      );
    plot("regularization-loss", [...traces("train_loss", "solid"), ...traces("val_loss", "dash")], {
      title: { text: "Training and validation loss against step", font: { size: 13 } },
      yaxis: { rangemode: "tozero" },
    });
    plot("regularization-gap", traces("gap", "solid"), {
      title: { text: "Generalization gap (validation − training loss)", font: { size: 13 } },
    });
    plot("regularization-sparsity", [...traces("sparsity_zero", "solid"), ...traces("sparsity_small", "dot")], {
      title: { text: "Sparsity: weights exactly 0 (solid), |w| < 10⁻³ (dotted)", font: { size: 13 } },
      yaxis: { range: [0, 1], tickformat: ".0%" },
    });
    const keys = ["train_loss", "val_loss", "train_acc", "val_acc", "gap", "penalty", "sparsity_zero", "sparsity_small"];
    const last = (arm, key) => arm.curves[key][arm.curves[key].length - 1];
    table(
      "regularization-summary",
      ["at this step", ...frame.arms.map((a) => `${a.name} (${a.regularization})`)],
      keys.map((key) => [
        key.replace("_", " "),
        ...frame.arms.map((arm) => (key.startsWith("sparsity") || key.endsWith("acc") ? pct(last(arm, key)) : fmt(last(arm, key), 4))),
      ]),
    );
  }

  function drawWeights(arm) {
    const h = arm.weights;
    const total = h.counts.reduce((a, b) => a + b, 0);
    const width = (h.high - h.low) / h.counts.length;
    // The exact zeros get their own bar; the bin around 0 keeps only the nonzero weights.
    const counts = [...h.counts];
    const zeroBin = Math.min(counts.length - 1, Math.floor((0 - h.low) / width));
    counts[zeroBin] -= h.zeros;
    const zeros = {
      type: "bar",
      x: [0],
      y: [h.zeros],
      width: width / 3,
      name: "exact zeros",
      marker: { color: COLORS.zeros },
      hovertemplate: "exactly 0: %{y}<extra></extra>",
    };
    const diverged = arm.diverged_step === null ? "" : ` — diverged at step ${arm.diverged_step}`;
    const nonzero = bars({ ...h, counts }, "nonzero weights", arm.name === "plain" ? "#8c959f" : "#f4a3a8");
    plot(`regularization-weights-${arm.name}`, [nonzero, zeros], {
      title: {
        text: `${arm.name} (${arm.regularization}): ${h.zeros} of ${total} weights exactly 0${diverged}`,
        font: { size: 13 },
      },
      barmode: "overlay",
      showlegend: false,
      margin: { l: 55, r: 20, t: 36, b: 45 },
      xaxis: { title: { text: "weight" } },
      yaxis: { title: { text: "count" } },
    });
  }

  // -- the landscape -----------------------------------------------------------------------

  async function requestLandscape() {
    if (state.landscapeBusy) {
      state.landscapeDirty = true; // the slider moved again: ask once more when this returns
      return;
    }
    state.landscapeBusy = true;
    try {
      do {
        state.landscapeDirty = false;
        const data = await api("POST", "/api/landscape", state.values.landscape);
        state.landscape = data;
        showError("landscape", null);
        drawLandscape(data);
      } while (state.landscapeDirty);
    } catch (error) {
      showError("landscape", error);
    } finally {
      state.landscapeBusy = false;
    }
  }

  function syncSlider() {
    const values = state.values.landscape;
    const info = state.meta.objectives[values.function];
    const lam = values.lam ?? info.lam;
    const slider = $("#lam-slider");
    slider.value = String(Math.round((1000 * lam) / info.lam_max));
    $("#lam-value").textContent = fmt(lam, 3);
    $("#lam-slider").disabled = values.penalty === "none";
  }

  function onLandscapeChange() {
    const before = state.values.landscape;
    const values = { ...readForm("landscape"), lam: before.lam, start: before.start };
    if (values.function !== before.function) {
      values.lam = null; // the new function's own defaults
      values.start = null;
      values.lr = null;
    }
    state.values.landscape = values;
    writeForm("landscape", values);
    syncSlider();
    saveUrl();
    requestLandscape();
  }

  function onSlider() {
    const values = state.values.landscape;
    const info = state.meta.objectives[values.function];
    values.lam = Number(((Number($("#lam-slider").value) / 1000) * info.lam_max).toPrecision(4));
    $("#lam-value").textContent = fmt(values.lam, 3);
    saveUrl();
    requestLandscape();
  }

  function drawLandscape(d) {
    const star = (points, color, name, size) => ({
      type: "scatter",
      mode: "markers",
      x: points.map((p) => p[0]),
      y: points.map((p) => p[1]),
      name,
      marker: { symbol: "star", size, color, line: { color: "black", width: 1 } },
    });
    const traces = [
      {
        type: "contour",
        x: d.w1,
        y: d.w2,
        z: d.total,
        name: "J + λP",
        colorscale: "YlGnBu",
        reversescale: true,
        ncontours: 28,
        contours: { coloring: "fill", showlines: true },
        line: { width: 0.4, color: "rgba(0,0,0,0.35)" },
        colorbar: { title: { text: d.scale === "log" ? "log₁₀(1 + J + λP − min)" : "J + λP", side: "right" }, thickness: 12 },
        hovertemplate: "w₁ %{x:.3g}, w₂ %{y:.3g}<extra>click: start here</extra>",
      },
    ];
    if (d.loss_level !== null) {
      traces.push({
        type: "contour",
        x: d.w1,
        y: d.w2,
        z: d.loss,
        name: "level set of J through the optimum",
        showscale: false,
        contours: { start: d.loss_level, end: d.loss_level, size: 1, coloring: "none" },
        line: { color: "black", dash: "dash", width: 1.2 },
        hoverinfo: "skip",
        showlegend: true,
      });
    }
    if (d.level_set) {
      traces.push({
        type: "scatter",
        mode: "lines",
        x: d.level_set.w1,
        y: d.level_set.w2,
        name: d.penalty === "l1" ? "L1 level set (diamond)" : "L2 level set (circle)",
        line: { color: "black", width: 1.6 },
        fill: "toself",
        fillcolor: "rgba(255,255,255,0.25)",
      });
    }
    if (d.path) {
      traces.push({
        type: "scatter",
        mode: "lines+markers",
        x: d.path.w.map((w) => w[0]),
        y: d.path.w.map((w) => w[1]),
        name: `optimum as λ grows (0 → ${fmt(d.path.lam[d.path.lam.length - 1])})`,
        line: { color: "#d1242f" },
        marker: { size: 4 },
        customdata: d.path.lam,
        hovertemplate: "λ %{customdata:.3g}: (%{x:.3g}, %{y:.3g})<extra></extra>",
      });
    }
    const t = d.trajectory.w;
    traces.push({
      type: "scatter",
      mode: "lines+markers",
      x: t.map((w) => w[0]),
      y: t.map((w) => w[1]),
      name: `gradient descent (lr ${fmt(d.trajectory.lr)}, ${t.length - 1} steps)`,
      line: { color: "#fb8500", width: 1.4 },
      marker: { size: 3 },
    });
    traces.push(star(d.minima, "white", "minimum of J", 13));
    traces.push(star([d.optimum], "#d1242f", `optimum at λ = ${fmt(d.lam)}`, 16));
    const [x0, x1, y0, y1] = d.window;
    const penalty = { none: "", l1: " + λ‖w‖₁", l2: " + λ‖w‖₂²" }[d.penalty];
    plot("landscape-plot", traces, {
      title: { text: `${d.function}: J = ${d.formula}${penalty}, λ = ${fmt(d.lam)}`, font: { size: 13 } },
      xaxis: { range: [x0, x1], title: { text: "w₁" }, zeroline: true, zerolinecolor: "#666", constrain: "domain" },
      yaxis: { range: [y0, y1], title: { text: "w₂" }, scaleanchor: "x", zeroline: true, zerolinecolor: "#666", constrain: "domain" },
      legend: { orientation: "h", y: -0.12 },
      hovermode: "closest",
    });
    const o = d.optimum;
    $("#landscape-info").textContent =
      `Optimum at λ = ${fmt(d.lam)}: (${fmt(o[0], 4)}, ${fmt(o[1], 4)})` +
      (o.some((v) => v === 0) ? " — a weight is exactly 0." : ".");
    const box = document.getElementById("landscape-plot");
    if (!box.dataset.clicks) {
      box.dataset.clicks = "1";
      box.on("plotly_click", (event) => {
        const point = event.points[0];
        state.values.landscape.start = [Number(point.x.toPrecision(4)), Number(point.y.toPrecision(4))];
        saveUrl();
        requestLandscape();
      });
    }
  }

  // -- runs ------------------------------------------------------------------------------

  async function loadRuns() {
    try {
      const store = await api("GET", "/api/store");
      const select = $("#runs-sweep");
      select.replaceChildren(new Option("all sweeps", ""));
      for (const sweep of store.sweeps) {
        select.add(new Option(`${sweep.name} (${sweep.runs} runs)`, sweep.name));
      }
      select.value = state.runs.sweep;
      $("#runs-store").textContent = store.exists
        ? `Store: ${store.path}`
        : `No run store in ${store.path} yet: 'weightlab demo' or 'weightlab run SPEC.yaml' makes one.`;
      reportLinks(store.exists && store.sweeps.length > 0);
      if (!store.exists) {
        message("runs-table", "No runs to show.");
        return;
      }
      const query = state.runs.sweep ? `?sweep=${encodeURIComponent(state.runs.sweep)}` : "";
      drawRunTable(await api("GET", `/api/store/runs${query}`));
      await drawCompare();
      if (state.runs.run !== null) await openRun(state.runs.run);
      showError("runs", null);
    } catch (error) {
      showError("runs", error);
    }
  }

  function reportLinks(enabled) {
    const query = state.runs.sweep ? `sweep=${encodeURIComponent(state.runs.sweep)}` : "";
    for (const [id, extra] of [["#report-open", ""], ["#report-download", "download=true"]]) {
      const link = $(id);
      if (enabled) link.href = `/api/store/report?${[query, extra].filter(Boolean).join("&")}`;
      else link.removeAttribute("href");
    }
  }

  function drawRunTable(runs) {
    const f = (run, key) => run.final?.[key];
    table(
      "runs-table",
      ["", "id", "run", "sweep", "status", "val loss", "val acc", "gap", "zeros"],
      runs.map((run) => [
        `<input type="checkbox" data-compare="${run.id}" ${state.runs.compare.includes(run.id) ? "checked" : ""}>`,
        run.id,
        `<a data-run="${run.id}">${escape(run.label)}</a>`,
        escape(run.sweep),
        escape(run.status),
        fmt(f(run, "val_loss"), 4),
        pct(f(run, "val_acc")),
        fmt(f(run, "gap"), 3),
        pct(f(run, "sparsity_zero")),
      ]),
      [0, 2, 3, 4],
    );
    const box = $("#runs-table");
    box.querySelectorAll("[data-run]").forEach((a) => a.addEventListener("click", () => openRun(Number(a.dataset.run))));
    box.querySelectorAll("[data-compare]").forEach((input) =>
      input.addEventListener("change", () => {
        const id = Number(input.dataset.compare);
        const chosen = state.runs.compare.filter((x) => x !== id);
        if (input.checked) chosen.push(id);
        state.runs.compare = chosen;
        saveUrl();
        drawCompare();
      }),
    );
  }

  async function fetchRun(id) {
    if (!state.runs.cache[id]) state.runs.cache[id] = await api("GET", `/api/store/runs/${id}`);
    return state.runs.cache[id];
  }

  async function drawCompare() {
    const metric = state.runs.metric;
    if (!state.runs.compare.length) {
      message("runs-compare", "Tick runs in the table to compare their curves.");
      return;
    }
    const runs = await Promise.all(state.runs.compare.map(fetchRun));
    const traces = runs
      .filter((run) => run.curves[metric])
      .map((run) => ({ type: "scatter", mode: "lines", name: `#${run.id} ${run.label}`, x: run.curves[metric].step, y: run.curves[metric].value.map(num) }));
    plot("runs-compare", traces, {
      title: { text: `Compare: ${metric.replace("_", " ")}`, font: { size: 13 } },
    });
  }

  async function openRun(id) {
    try {
      const run = await fetchRun(id);
      state.runs.run = id;
      saveUrl();
      document.querySelectorAll("#runs-table tr").forEach((tr) => tr.classList.toggle("selected", Boolean(tr.querySelector(`[data-run="${id}"]`))));
      const traces = ["train_loss", "val_loss"]
        .filter((key) => run.curves[key])
        .map((key) => ({ type: "scatter", mode: "lines", name: key.replace("_", " "), x: run.curves[key].step, y: run.curves[key].value.map(num) }));
      plot("run-curves", traces, {
        title: { text: `Run #${run.id}: ${run.label}`, font: { size: 13 } },
        });
      const weights = run.histograms.filter((h) => h.kind === "weight");
      const ends = weights.length ? [weights[0], weights[weights.length - 1]] : [];
      plot(
        "run-histograms",
        ends.map((h, i) => ({ ...bars(h, `step ${h.step}`, i ? "#d1242f" : "#8c959f"), opacity: 0.6 })),
        { title: { text: "Weights at the first and last recorded step", font: { size: 13 } }, barmode: "overlay" },
      );
      const rows = [
        ["status", escape(run.status)],
        ["init", escape(run.config.init)],
        ["regularization", escape(run.config.regularization)],
        ["model", escape(JSON.stringify(run.config.model))],
        ["dataset", escape(JSON.stringify(run.config.dataset))],
        ["optimizer", escape(JSON.stringify(run.config.optimizer))],
        ...Object.entries(run.final).map(([k, v]) => [escape(k), fmt(v, 4)]),
      ];
      table("run-detail", ["run", `#${run.id}`], rows, [0, 1]);
      showError("runs", null);
    } catch (error) {
      showError("runs", error);
    }
  }

  // -- start -------------------------------------------------------------------------------

  const DRAW = { init: drawInit, regularization: drawRegularization };

  async function start() {
    state.meta = await api("GET", "/api/meta");
    for (const section of [...state.meta.sections].reverse()) {
      TABS.unshift(section.name);
      PREFIX[section.name] = section.prefix;
    }
    TRAINED.push(...state.meta.sections.map((section) => section.name));
    for (const section of TRAINED) {
      state.generation[section] ??= 0;
      state.shownStep[section] ??= -1;
      state.running[section] ??= false;
      state.configured[section] ??= false;
    }
    loadUrl();
    for (const section of TRAINED) {
      buildForm(section, state.meta.schemas[section], onSetupChange);
      writeForm(section, state.values[section]);
    }
    buildForm("landscape", state.meta.schemas.landscape, onLandscapeChange);
    writeForm("landscape", state.values.landscape);
    syncSlider();
    $("#lam-slider").addEventListener("input", onSlider);
    for (const bar of document.querySelectorAll(".controls")) {
      bar.addEventListener("click", (event) => {
        const action = event.target.closest("button")?.dataset.action;
        if (action) control(bar.dataset.section, action);
      });
    }
    for (const button of document.querySelectorAll("#tabs button")) {
      button.addEventListener("click", () => showTab(button.dataset.tab));
    }
    const metric = $("#runs-metric");
    for (const key of CURVES) metric.add(new Option(key.replace("_", " "), key));
    metric.value = state.runs.metric;
    metric.addEventListener("change", () => {
      state.runs.metric = metric.value;
      saveUrl();
      drawCompare();
    });
    $("#runs-sweep").addEventListener("change", () => {
      state.runs.sweep = $("#runs-sweep").value;
      saveUrl();
      loadRuns();
    });
    window.addEventListener("pagehide", () => state.events?.close());
    await connect();
    showTab(state.tab);
  }

  window.addEventListener("DOMContentLoaded", () => {
    start().catch((error) => {
      $("#connection").textContent = `error: ${error.message}`;
    });
  });
})();
