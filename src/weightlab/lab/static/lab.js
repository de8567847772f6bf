// weightlab lab: the page.  Plain JavaScript, no build step.
//
// The server does the work; this file builds the forms from the API's JSON schemas,
// keeps the whole setup in the URL, sends requests, listens to the session's event
// stream and draws frames: Plotly for curves, the canvas helpers of draw.js for what
// changes every frame (heatmaps, histograms, the network picture).
"use strict";

(() => {
  const D = window.WLDraw;
  // The trained sections (tabs, URL prefixes, live fields) come from the server's section
  // registry (GET /api/meta), in start(); landscape, theory and runs are this page's own
  // tabs.
  const TABS = ["landscape", "theory", "runs"];
  const TRAINED = [];
  const PREFIX = { landscape: "land", theory: "theory" };
  let PLANE = [];
  const DEFAULT_FEATURES = ["x1", "x2"];
  const COLORS = {
    network: "#1f6feb",
    regularized: "#d1242f",
    plain: "#1f6feb",
    theory: "#6a737d",
    grad: "#8250df",
    probe: "#bf8700",
    zeros: "#d1242f",
  };
  const RACE_COLORS = ["#8c959f", "#bf8700", "#cf222e", "#1f6feb", "#1a7f37", "#8250df"];
  const LABELS = {
    dataset: "Dataset",
    n_samples: "Samples",
    noise: "Noise",
    train_fraction: "Training share",
    features: "Features",
    widths: "Hidden layers",
    activation: "Activation",
    init: "Init scheme",
    inits: "Inits that race",
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
    sigma_w: "σ_w (weights)",
    sigma_b: "σ_b (biases)",
    depth: "Layers",
    width: "Units per layer",
    weights: "Weights",
  };
  const SCHEME_NOTES = {
    xavier_fan_in: "xavier_fan_in (the seed's 1/n rule)",
    lsuv: "lsuv (data-dependent)",
  };
  const plane = (v) => PLANE.includes(v.dataset);
  const HIDDEN = {
    n_samples: (v) => v.dataset !== "digits",
    noise: plane,
    features: plane,
    train_fraction: (v) => v.dataset !== "mnist1d",
    depth: () => false,
    width: () => false,
    rule: (v) => v.penalty === "l1",
    lam: () => false,
    start: () => false,
  };
  const LIST_SEPARATOR = { inits: ";" };
  const OWN_FIELDS = ["theory"]; // forms whose every field shows (HIDDEN is the others')
  const PLOT_CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["sendDataToCloud"] };
  const CURVES = ["val_loss", "train_loss", "val_acc", "train_acc", "gap", "sparsity_zero"];
  // One name per quantity, each with its one-line definition (hover a table header).
  const DEFINITIONS = {
    "Var(z)": "Variance of the pre-activations z = Wa + b of the layer, over a batch of training inputs and the layer's units.",
    theory: "Var(z) the derivation predicts from the input's E[x²] and each layer's Var(W) (zero-mean independent weights assumed).",
    "Var(∂L/∂W)": "Variance of the layer's weight gradient of the training loss on the measured batch: what a training step uses.",
    "Var(∂W) probe": "Variance of the layer's weight gradient when a random unit-variance gradient arrives at the output (Glorot & Bengio's analysis; what the flags judge).",
    dead: "Share of ReLU-like units whose pre-activation is ≤ 0 for every input of the batch (their gradient is 0).",
    saturated: "Share of tanh/sigmoid values within 0.01 of the activation's bounds (gradient near 0).",
    "distinct units": "How many different functions the layer's units compute; fewer than its units means copies (symmetry).",
  };

  const state = {
    meta: null,
    session: null,
    events: null,
    streamReady: null,
    tab: "init",
    values: {},
    live: {},
    generation: {},
    shownStep: {},
    running: {},
    configured: {},
    statics: {},
    frames: {},
    pending: {},
    drawQueued: false,
    counters: {},
    applied: {},
    selected: { init: null },
    hovered: null,
    targets: {},
    charts: {},
    latency: [],
    timing: {},
    profile: {},
    landscape: null,
    landscapeBusy: false,
    landscapeDirty: false,
    theory: { phase: null, point: null, busy: {}, dirty: {}, diagram: null, dragging: false },
    runs: { sweep: "", run: null, compare: [], metric: "val_loss", cache: {} },
  };
  window.weightlab = state; // for the browser tests, the latency benchmark and the curious

  const $ = (selector) => document.querySelector(selector);
  const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v : null);
  const fmt = (v, digits = 3) => {
    if (v === null || v === undefined) return "";
    if (typeof v !== "number") return String(v);
    return Number.isInteger(v) ? String(v) : v.toPrecision(digits);
  };
  const pct = (v) => (num(v) === null ? "" : `${(100 * v).toFixed(1)}%`);
  const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

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
      const name = CSS.escape(error.parameter);
      document.querySelector(`#${section}-form [name="${name}"], #${section}-form [data-field="${name}"] fieldset, #${section}-form fieldset[data-field="${name}"]`)?.classList.add("invalid");
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

  function leave() {
    state.events?.close();
    state.events = null;
    if (state.session) {
      fetch(`/api/sessions/${state.session}`, { method: "DELETE", keepalive: true }).catch(() => {});
      state.session = null;
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
    // A frame of the same step drawn before a live change (it crossed the change's
    // answer on the way) is older than the one shown.
    const shown = state.frames[frame.section];
    const known = (f) => (f?.changes || []).length;
    if (frame.step === state.shownStep[frame.section] && known(frame) < known(shown)) return;
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
      const began = performance.now();
      DRAW[section](frame);
      const timing = state.timing[section];
      if (timing && frame.generation === timing.generation) {
        delete state.timing[section];
        const draw = performance.now() - began;
        // The next animation frame comes after this one is painted: the redraw is done.
        requestAnimationFrame(() =>
          state.latency.push({ section, control: timing.control, ms: performance.now() - timing.start, answered: timing.answered, draw, parts: { ...state.profile } }),
        );
      }
    }
  }

  // -- forms built from the API's JSON schemas --------------------------------------------

  function fieldType(prop) {
    const options = prop.anyOf || [prop];
    const main = options.find((o) => o.type !== "null") || prop;
    return { ...prop, ...main, optional: options.some((o) => o.type === "null") };
  }

  function kindBadge(section, name) {
    if (!state.live[section]) return null;
    const live = state.live[section].has(name);
    const badge = document.createElement("span");
    badge.className = `kind ${live ? "live" : "restart"}`;
    badge.textContent = live ? "live" : "↺";
    badge.title = live ? "Applies to the running training: the step count goes on." : "Starts the training again at step 0.";
    const hidden = document.createElement("span");
    hidden.className = "sr-only";
    hidden.textContent = live ? " (applies while training)" : " (restarts training)";
    badge.append(hidden);
    return badge;
  }

  function inputFor(section, name, prop) {
    const type = fieldType(prop);
    let input;
    if (name === "init") {
      input = document.createElement("select");
      const names = [...state.meta.schemes, ...state.meta.scheme_presets];
      for (const scheme of names) input.add(new Option(SCHEME_NOTES[scheme] || scheme, scheme));
    } else if (name === "noise" || name === "train_fraction") {
      input = document.createElement("input");
      input.type = "range";
      input.min = name === "noise" ? "0" : "0.1";
      input.max = name === "noise" ? "0.5" : "0.9";
      input.step = "0.05";
    } else if (type.enum) {
      input = document.createElement("select");
      for (const option of type.enum) input.add(new Option(option, option));
    } else if (type.type === "boolean") {
      input = document.createElement("input");
      input.type = "checkbox";
    } else if (type.type === "integer" || type.type === "number") {
      input = document.createElement("input");
      input.type = "number";
      input.step = type.type === "integer" ? "1" : name.startsWith("sigma_") ? "0.01" : "any";
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

  // Checkboxes for a list field (features, inits).
  function checkGroup(section, name, options, labels, prop) {
    const box = document.createElement("fieldset");
    box.dataset.field = name;
    box.dataset.group = name;
    const legend = document.createElement("legend");
    legend.append(LABELS[name] || name);
    const badge = kindBadge(section, name);
    if (badge) legend.append(badge);
    box.append(legend);
    const row = document.createElement("div");
    row.className = "checks";
    box.title = prop.description || "";
    for (const option of options) {
      const label = document.createElement("label");
      const check = document.createElement("input");
      check.type = "checkbox";
      check.value = option;
      check.dataset.group = name;
      label.append(check, labels[option] || option);
      row.append(label);
    }
    box.append(row);
    return box;
  }

  // The per-layer widths: add or remove a layer, add or remove a unit of each layer.
  function widthsEditor(section, prop) {
    const box = document.createElement("fieldset");
    box.dataset.field = "widths";
    box.dataset.group = "widths";
    box.title = prop.description || "";
    const legend = document.createElement("legend");
    legend.append("Hidden layers");
    const badge = kindBadge(section, "widths");
    if (badge) legend.append(badge);
    box.append(legend);
    const buttons = document.createElement("div");
    buttons.className = "layer-buttons";
    const add = button("+ layer", "Add a hidden layer (a copy of the last)", "add-layer");
    const remove = button("− layer", "Remove the last hidden layer", "remove-layer");
    const count = document.createElement("span");
    count.className = "muted";
    count.dataset.role = "count";
    buttons.append(add, remove, count);
    const layers = document.createElement("div");
    layers.className = "widths";
    box.append(buttons, layers);
    box.addEventListener("click", (event) => {
      const target = event.target.closest("button");
      if (!target) return;
      event.preventDefault();
      const widths = [...state.values[section].widths];
      const i = Number(target.dataset.layer);
      const action = target.dataset.action;
      if (action === "add-layer" && widths.length < 20) widths.push(widths[widths.length - 1] || 4);
      else if (action === "remove-layer" && widths.length > 1) widths.pop();
      else if (action === "more") widths[i] = Math.min(512, widths[i] + 1);
      else if (action === "fewer") widths[i] = Math.max(1, widths[i] - 1);
      else return;
      setWidths(section, widths);
      onSetupChange(section, "widths");
    });
    box.addEventListener("change", (event) => {
      const input = event.target.closest("input[data-layer]");
      if (!input) return;
      event.stopPropagation();
      const widths = [...state.values[section].widths];
      const value = Number(input.value);
      widths[Number(input.dataset.layer)] = Number.isInteger(value) ? value : input.value;
      setWidths(section, widths);
      onSetupChange(section, "widths");
    });
    return box;
  }

  function button(text, title, action, layer) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "small";
    b.textContent = text;
    b.title = title;
    b.setAttribute("aria-label", title);
    b.dataset.action = action;
    if (layer !== undefined) b.dataset.layer = layer;
    return b;
  }

  function setWidths(section, widths) {
    state.values[section].widths = widths;
    const box = $(`#${section}-form fieldset[data-group="widths"]`);
    if (!box) return;
    box.querySelector('[data-role="count"]').textContent = `${widths.length} layer${widths.length === 1 ? "" : "s"}`;
    const holder = box.querySelector(".widths");
    holder.replaceChildren(
      ...widths.map((w, i) => {
        const layer = document.createElement("div");
        layer.className = "layer";
        const input = document.createElement("input");
        input.type = "number";
        input.min = "1";
        input.max = "512";
        input.step = "1";
        input.value = String(w);
        input.dataset.layer = i;
        input.setAttribute("aria-label", `Units in hidden layer ${i + 1}`);
        const row = document.createElement("div");
        row.className = "buttons";
        row.append(button("−", `One unit fewer in layer ${i + 1}`, "fewer", i), button("+", `One unit more in layer ${i + 1}`, "more", i));
        const title = document.createElement("span");
        title.className = "muted";
        title.textContent = `L${i + 1}`;
        layer.append(title, input, row);
        return layer;
      }),
    );
  }

  function buildForm(section, schema, onChange) {
    const form = $(`#${section}-form`);
    form.replaceChildren();
    for (const [name, prop] of Object.entries(schema.properties)) {
      if (name === "widths") {
        form.append(widthsEditor(section, prop));
        continue;
      }
      if (name === "features") {
        const labels = Object.fromEntries(state.meta.features.map((f) => [f.name, f.label]));
        form.append(checkGroup(section, name, state.meta.features.map((f) => f.name), labels, prop));
        continue;
      }
      if (name === "inits") {
        form.append(checkGroup(section, name, state.meta.race_choices, state.meta.race_labels, prop));
        continue;
      }
      if (name === "encoding") continue; // how the page takes the landscape's grids, not a control
      const label = document.createElement("label");
      label.dataset.field = name;
      const text = document.createElement("span");
      text.append(LABELS[name] || (name.includes(".") ? name.split(".")[1].replace("_", " ") : prop.title || name));
      const badge = kindBadge(section, name);
      if (badge) text.append(badge);
      const input = inputFor(section, name, prop);
      if (name === "noise" || name === "train_fraction") {
        const cell = document.createElement("span");
        cell.className = "range";
        const out = document.createElement("output");
        out.dataset.for = name;
        cell.append(input, out);
        label.append(text, cell);
      } else {
        label.append(text, input);
      }
      form.append(label);
    }
    form.addEventListener("change", (event) => {
      if (event.target.closest('fieldset[data-group="widths"]')) return;
      onChange(section, event.target.name || event.target.dataset.group);
    });
    form.addEventListener("input", (event) => {
      const out = event.target.parentElement?.querySelector("output");
      if (out) out.textContent = rangeText(event.target.name, Number(event.target.value));
    });
    form.addEventListener("submit", (event) => event.preventDefault());
  }

  // Noise and the training share as the Playground shows them: percentages.
  const rangeText = (name, value) => `${Math.round(100 * value)}%`;

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

  // The setup the form shows, as the request body of its section.
  function readForm(section) {
    const form = $(`#${section}-form`);
    const values = {};
    for (const input of form.elements) {
      if (!input.name || input.dataset.group) continue;
      values[input.name] = readValue(input);
    }
    for (const box of form.querySelectorAll("fieldset[data-group]")) {
      const name = box.dataset.group;
      if (name === "widths") values.widths = [...state.values[section].widths];
      else values[name] = [...box.querySelectorAll("input:checked")].map((c) => c.value);
    }
    if (values.train_fraction !== undefined) {
      const share = Number(form.querySelector('[name="train_fraction"]').value);
      values.train_fraction = Math.abs(share - 0.5) < 1e-9 ? null : share;
    }
    return values;
  }

  // What the server gets: the form's values, with the fields of other datasets set back.
  function body(section) {
    const values = { ...state.values[section] };
    delete values.depth;
    delete values.width;
    if (!plane(values)) values.features = [...DEFAULT_FEATURES];
    if (values.dataset === "digits") values.n_samples = null;
    if (values.dataset === "mnist1d") values.train_fraction = null;
    return values;
  }

  function writeForm(section, values) {
    const form = $(`#${section}-form`);
    for (const input of form.elements) {
      if (!input.name || input.dataset.group || !(input.name in values)) continue;
      if (input.name === "train_fraction") input.value = String(values.train_fraction ?? 0.5);
      else writeValue(input, values[input.name]);
      const out = input.parentElement?.querySelector("output");
      if (out) out.textContent = rangeText(input.name, Number(input.value));
    }
    for (const box of form.querySelectorAll("fieldset[data-group]")) {
      const name = box.dataset.group;
      if (name === "widths") setWidths(section, values.widths);
      else for (const check of box.querySelectorAll("input")) check.checked = (values[name] || []).includes(check.value);
    }
    showFields(section, values);
  }

  function showFields(section, values) {
    for (const element of $(`#${section}-form`).querySelectorAll("[data-field]")) {
      const field = element.dataset.field;
      const rule = OWN_FIELDS.includes(section) ? null : HIDDEN[field];
      // A regularization term's parameter ("l1.strength") shows with its term only.
      const term = field.includes(".") ? field.split(".")[0] : null;
      element.hidden = term ? values.regularizer !== term : rule ? !rule(values) : false;
    }
  }

  // -- the URL holds the whole setup ------------------------------------------------------

  function encode(value, name) {
    if (value === null) return "null";
    if (Array.isArray(value)) return value.join(LIST_SEPARATOR[name] || ",");
    return String(value);
  }

  function decode(raw, prop, name) {
    if (raw === "null") return null;
    const type = prop ? fieldType(prop) : { type: "string" };
    if (type.type === "boolean") return raw === "true";
    if (type.type === "array") {
      const parts = raw.split(LIST_SEPARATOR[name] || ",").filter((p) => p !== "");
      const item = type.items?.type;
      return item === "integer" || item === "number" || name === "start" ? parts.map(Number) : parts;
    }
    if (type.type === "integer" || type.type === "number") {
      const value = Number(raw);
      return raw === "" || Number.isNaN(value) ? raw : value;
    }
    return raw;
  }

  // A trained section's defaults as the page holds them: per-layer widths.
  function defaults(section) {
    const d = { ...state.meta.defaults[section] };
    if (TRAINED.includes(section)) d.widths = d.widths || Array(d.depth).fill(d.width);
    return d;
  }

  function saveUrl() {
    const params = new URLSearchParams({ tab: state.tab });
    for (const [section, prefix] of Object.entries(PREFIX)) {
      const base = defaults(section);
      for (const [key, value] of Object.entries(state.values[section] || {})) {
        if (TRAINED.includes(section) && (key === "depth" || key === "width")) continue;
        if (!same(value, base[key])) params.set(`${prefix}.${key}`, encode(value, key));
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
      const values = defaults(section);
      const props = state.meta.schemas[section].properties;
      for (const [key, raw] of params) {
        const [head, name] = key.split(/\.(.*)/s);
        if (head === prefix && name) values[name] = decode(raw, props[name], name);
      }
      // A link from before per-layer widths: depth layers of width.
      if (TRAINED.includes(section) && !params.has(`${prefix}.widths`) && (params.has(`${prefix}.depth`) || params.has(`${prefix}.width`))) {
        values.widths = Array(Number(values.depth) || 1).fill(values.width);
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
    for (const b of document.querySelectorAll("#tabs button")) {
      b.classList.toggle("active", b.dataset.tab === tab);
      b.setAttribute("aria-selected", String(b.dataset.tab === tab));
    }
    saveUrl();
    if (TRAINED.includes(tab) && !state.configured[tab]) configure(tab);
    else if (tab === "landscape" && !state.landscape) requestLandscape();
    else if (tab === "theory") showTheory();
    else if (tab === "runs") loadRuns();
    if (TRAINED.includes(tab) && state.frames[tab] && !state.pending[tab]) state.pending[tab] = state.frames[tab];
    if (state.pending[tab]) drawPending();
    window.dispatchEvent(new Event("resize")); // plots drawn while hidden take their size
  }

  // -- the trained sections: setup, play, pause, step, reset ------------------------------

  async function configure(section, control) {
    const values = body(section);
    showFields(section, state.values[section]);
    const started = performance.now();
    // A slow setup (a first MNIST-1D load, LSUV on a big network) says what it is doing.
    const slow = setTimeout(() => ($(`#${section}-status`).textContent = "setting up…"), 300);
    try {
      const frame = await latest(section, () => sessionCall("PUT", section, values));
      if (frame === STALE) return;
      state.configured[section] = true;
      showError(section, null);
      if (frame.applied?.reset) state.shownStep[section] = -1;
      state.applied[section] = frame.applied?.live?.length ? { fields: frame.applied.live, step: frame.step } : null;
      if (control) state.timing[section] = { control, start: started, answered: performance.now() - started, generation: frame.generation };
      acceptFrame(frame);
      if (state.tab === section) drawPending(); // now, not at the next animation frame
    } catch (error) {
      showError(section, error);
      updateButtons(section, state.frames[section]);
    } finally {
      clearTimeout(slow);
    }
  }

  function onSetupChange(section, control) {
    const values = readForm(section);
    if (values.dataset !== state.values[section].dataset && !PLANE.includes(values.dataset)) values.n_samples = null;
    state.values[section] = values;
    writeForm(section, values);
    saveUrl();
    configure(section, control || "form");
  }

  async function control(section, action) {
    try {
      if (action === "play") {
        await state.streamReady;
        await sessionCall("POST", `${section}/play`, { steps_per_frame: 5 });
        state.running[section] = true;
        updateButtons(section, state.frames[section]);
        showError(section, null);
        return;
      }
      const payload = action === "step" ? { steps: stepsWanted(section) } : undefined;
      const frame = await latest(section, () => sessionCall("POST", `${section}/${action}`, payload));
      if (frame === STALE) return;
      showError(section, null);
      if (action === "reset") {
        state.shownStep[section] = -1;
        state.applied[section] = null;
      }
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
    const status = $(`#${section}-status`);
    const applied = state.applied[section];
    const note = applied ? ` · <span class="applied">${escape(applied.fields.join(", "))} applied live at step ${applied.step}</span>` : "";
    status.innerHTML = frame ? `step ${frame.step} / ${frame.max_steps} · ${what}${note}` : "";
    status.dataset.step = frame ? frame.step : "";
    status.dataset.running = running ? "1" : "0";
    status.dataset.generation = frame ? frame.generation : "";
  }

  // -- drawing helpers ---------------------------------------------------------------------

  function plot(id, traces, layout) {
    const narrow = window.innerWidth < 500;
    const base = {
      margin: narrow ? { l: 42, r: 12, t: 36, b: 64 } : { l: 55, r: 45, t: 36, b: 70 },
      font: { size: narrow ? 10 : 11 },
      legend: { orientation: "h", x: 0, y: -0.14, yanchor: "top" },
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

  function message(id, text) {
    const box = document.getElementById(id);
    if (window.Plotly && box.data) Plotly.purge(box);
    box.innerHTML = `<p class="note" style="padding:1rem">${escape(text)}</p>`;
  }

  function canvasMessage(target, text) {
    const canvas = typeof target === "string" ? document.getElementById(target) : target;
    const ctx = canvas.getContext("2d");
    const width = Math.min(canvas.parentElement.clientWidth || 300, 420);
    const dpr = window.devicePixelRatio || 1;
    canvas.width = width * dpr;
    canvas.height = 60 * dpr;
    canvas.style.width = `${width}px`;
    canvas.style.height = "60px";
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.font = "12px system-ui, sans-serif";
    ctx.fillStyle = "#6a737d";
    wrapText(ctx, text, 8, 18, width - 16, 15);
    canvas.setAttribute("aria-label", text);
  }

  function wrapText(ctx, text, x, y, width, lineHeight) {
    let line = "";
    for (const word of text.split(" ")) {
      const next = line ? `${line} ${word}` : word;
      if (ctx.measureText(next).width > width && line) {
        ctx.fillText(line, x, y);
        y += lineHeight;
        line = word;
      } else line = next;
    }
    ctx.fillText(line, x, y);
  }

  function table(id, header, rows, textColumns = [0], titles = {}) {
    const align = (i) => (textColumns.includes(i) ? ' class="text"' : "");
    const head = `<thead><tr>${header
      .map((h, i) => `<th scope="col"${align(i)}${titles[h] ? ` title="${escape(titles[h])}"` : ""}>${escape(h)}</th>`)
      .join("")}</tr></thead>`;
    const rowsHtml = rows.map((row) => `<tr>${row.map((cell, i) => `<td${align(i)}>${cell}</td>`).join("")}</tr>`).join("");
    document.getElementById(id).innerHTML = `<table>${head}<tbody>${rowsHtml}</tbody></table>`;
  }

  // One curve of an arm: {name, x, y, color, dash, y2} for D.lines.
  function curve(frame, arm, key, options) {
    return { x: frame.steps, y: (arm.curves[key] || []).map(num), ...options };
  }

  // Dotted marks where a live change was applied, with what changed (the last few).
  function changeMarks(frame) {
    return (frame.changes || []).slice(-3).map((change) => ({
      x: change.step,
      text: Object.entries(change.fields)
        .map(([k, [a, b]]) => `${k} ${fmt(a)}→${fmt(b)}`)
        .join(", "),
    }));
  }

  function lossTitle(frame, text) {
    return frame.step === 0 ? `${text} — step 0: press Play or Step to train` : text;
  }

  // A line chart on canvas `id` (the step axis runs from 0, with room to grow while
  // there is only the first point), with values under the pointer on hover.
  function chart(id, spec, frame) {
    const canvas = document.getElementById(id);
    const full = frame && frame.step === 0 ? { xmin: 0, xmax: 100 } : {};
    state.charts[id] = D.lines(canvas, { ...full, ...spec });
    canvas.setAttribute("aria-label", `${spec.title}: ${spec.series.map((s) => s.name).join(", ")}`);
    if (!canvas.dataset.hover) {
      canvas.dataset.hover = "1";
      canvas.addEventListener("mousemove", (event) => {
        const [x] = pointer(event);
        const found = D.lineValues(state.charts[id], x);
        const tip = $("#tooltip");
        if (!found) {
          tip.hidden = true;
          return;
        }
        tip.innerHTML = [`<b>${escape(spec.xname || "step")} ${fmt(found.at)}</b>`, ...found.rows.map(escape)].join("<br>");
        tip.hidden = false;
        tip.style.left = `${event.clientX + 12}px`;
        tip.style.top = `${event.clientY + 12}px`;
      });
      canvas.addEventListener("mouseleave", () => ($("#tooltip").hidden = true));
    }
  }

  const isRegression = (frame) => frame.task === "regression";

  // The boundary (classification) or fitted surface (regression) of arm `i` of a frame.
  function boundarySpec(frame, section, i, extra = {}) {
    const b = frame.boundary;
    const statics = state.statics[section];
    return {
      z: b.z[i],
      x1: b.x1,
      x2: b.x2,
      kind: b.kind,
      regression: b.kind === "value",
      contour: b.kind === "probability" ? 0.5 : undefined,
      points: statics?.points,
      ...extra,
    };
  }

  function noPlane(frame) {
    const name = state.statics[frame.section]?.dataset?.name || "this dataset";
    return `No input plane to draw: ${name} has more than two inputs. Decision boundaries and unit heatmaps are drawn for the 2-D sets.`;
  }

  // The network picture of `pic` in canvas `id`, with hover values and (init) click to select.
  function drawPicture(id, section, frame, pic) {
    const canvas = document.getElementById(id);
    if (!pic) return;
    const output = frame.boundary ? { z: frame.boundary.z[0], kind: frame.boundary.kind } : null;
    state.targets[id] = D.network(canvas, pic, output, section === "init" ? state.selected.init : null);
    const dead = pic.hidden.reduce((n, l) => n + l.dead.filter(Boolean).length, 0);
    const saturated = pic.hidden.reduce((n, l) => n + l.saturated.filter(Boolean).length, 0);
    canvas.setAttribute(
      "aria-label",
      `Network picture: ${pic.n_inputs} inputs, hidden layers of ${frame.hidden.join(", ")} units (up to 16 drawn each), ${pic.outputs} outputs; ${dead} dead and ${saturated} saturated units among those drawn.`,
    );
    if (!canvas.dataset.hover) {
      canvas.dataset.hover = "1";
      canvas.addEventListener("mousemove", (event) => hover(event, id));
      canvas.addEventListener("mouseleave", () => {
        $("#tooltip").hidden = true;
        if (id === "init-network") showUnitPlane(null);
      });
      if (section === "init") canvas.addEventListener("click", (event) => selectUnit(event, id));
    }
  }

  function pointer(event) {
    const rect = event.target.getBoundingClientRect();
    return [event.clientX - rect.left, event.clientY - rect.top];
  }

  function hover(event, id) {
    const [x, y] = pointer(event);
    const found = D.hit(state.targets[id], x, y);
    const tip = $("#tooltip");
    if (id === "init-network") showUnitPlane(found?.node);
    if (!found) {
      tip.hidden = true;
      return;
    }
    let text;
    if (found.edge) {
      const e = found.edge;
      const from = e.from[0] === 0 ? `input ${e.from[1] + 1}` : `layer ${e.from[0]} unit ${e.from[1] + 1}`;
      const last = state.frames[state.tab]?.picture?.hidden.length ?? 0;
      const to = e.to[0] > last ? `output ${e.to[1] + 1}` : `layer ${e.to[0]} unit ${e.to[1] + 1}`;
      text = `weight ${fmt(e.value, 3)}: ${from} → ${to}`;
    } else {
      const n = found.node;
      if (n.kind === "input") text = `input ${n.label}`;
      else if (n.kind === "output") text = `output ${n.index + 1}, bias ${fmt(n.bias)}`;
      else {
        const marks = [n.dead && "dead", n.saturated && "saturated", n.constant && "constant (no signal)"].filter(Boolean);
        text = `layer ${n.layer + 1} unit ${n.unit + 1}, bias ${fmt(n.bias)}${marks.length ? ` — ${marks.join(", ")}` : ""}`;
      }
    }
    tip.textContent = text;
    tip.hidden = false;
    tip.style.left = `${event.clientX + 12}px`;
    tip.style.top = `${event.clientY + 12}px`;
  }

  // As in the Playground, a hovered unit's output fills the big plot; leaving it brings
  // the network's output back.
  function showUnitPlane(node) {
    const frame = state.frames.init;
    const key = node && (node.kind === "unit" || node.kind === "input") ? `${node.kind}:${node.layer ?? ""}:${node.unit ?? node.index}` : null;
    if (!frame?.boundary || !frame.picture?.grid || key === state.hovered) return;
    state.hovered = key;
    if (!key) {
      drawBoundary(frame);
      return;
    }
    const pic = frame.picture;
    const heat = node.kind === "unit" ? pic.hidden[node.layer].heat[node.unit] : pic.inputs[node.index].heat;
    const title = node.kind === "unit" ? `Layer ${node.layer + 1}, unit ${node.unit + 1}: its output over the plane` : `Input ${node.label} over the plane`;
    const g = pic.grid;
    const b = frame.boundary;
    const axis = (values) => Array.from({ length: g }, (_, i) => values[Math.min(values.length - 1, 2 * i)]);
    D.heatmap($("#init-boundary"), { z: D.decode(heat, g), x1: axis(b.x1), x2: axis(b.x2), kind: "value", title, maxPlot: 380, points: state.statics.init?.points, regression: b.kind === "value" });
  }

  function drawBoundary(frame) {
    const regression = isRegression(frame);
    if (frame.boundary) {
      D.heatmap($("#init-boundary"), boundarySpec(frame, "init", 0, {
        title: regression ? "Fitted surface (colour: prediction; dots: targets)" : "Decision boundary: P(class 1), line at ½",
        maxPlot: 380,
      }));
    } else canvasMessage("init-boundary", noPlane(frame));
  }

  function selectUnit(event, id) {
    const [x, y] = pointer(event);
    const found = D.hit(state.targets[id], x, y);
    const node = found?.node;
    if (!node || node.kind !== "unit") return;
    const current = state.selected.init;
    state.selected.init = current && current.layer === node.layer && current.unit === node.unit ? null : { layer: node.layer, unit: node.unit };
    const frame = state.frames.init;
    if (frame) {
      drawPicture("init-network", "init", frame, frame.picture);
      drawActivations(frame);
    }
  }

  // -- the init explorer -------------------------------------------------------------------

  function layerTitle(layer, i, count) {
    return i === count - 1 ? `output layer ${i + 1}` : `layer ${i + 1} · ${layer.activation}`;
  }

  function drawActivations(frame) {
    const layers = frame.measurement.layers;
    const chosen = state.selected.init;
    const pic = frame.picture;
    const panels = layers.map((layer, i) => {
      const panel = { title: layerTitle(layer, i, layers.length), ...layer.post_hist, color: COLORS.network };
      if (chosen && chosen.layer === i && pic?.hidden[i]) {
        panel.highlight = true;
        panel.title += ` · unit ${chosen.unit + 1} in red`;
        panel.overlay = { counts: pic.hidden[i].hist.counts[chosen.unit] || [] };
      }
      if (layer.post_hist.counts.every((c, k) => k === 0 || c === 0) && layer.post_var === 0) panel.note = "every value equal";
      return panel;
    });
    D.histograms($("#init-activations"), panels);
    $("#init-activations-title").textContent = chosen
      ? `Activations a = φ(z) per layer; layer ${chosen.layer + 1} highlighted with unit ${chosen.unit + 1} (red, own scale)`
      : "Activations a = φ(z) per layer, on a batch of training inputs (click a unit above to see its own)";
  }

  // How long each part of the last redraw took (ms), for the latency benchmark.
  function timed(name, draw) {
    const began = performance.now();
    draw();
    state.profile[name] = performance.now() - began;
  }

  function drawInit(frame) {
    updateButtons("init", frame);
    const m = frame.measurement;
    const layers = m.layers;
    const regression = isRegression(frame);
    if (frame.picture) timed("picture", () => drawPicture("init-network", "init", frame, frame.picture));
    state.hovered = null;
    drawBoundary(frame);
    const arm = frame.arms[0];
    const series = [
      curve(frame, arm, "train_loss", { name: regression ? "train MSE" : "train loss", color: COLORS.network }),
      curve(frame, arm, "val_loss", { name: regression ? "validation MSE" : "validation loss", color: COLORS.network, dash: "dash" }),
    ];
    if (!regression) series.push(curve(frame, arm, "val_acc", { name: "validation accuracy (right)", y2: true, color: "#1a7f37", dash: "dot" }));
    timed("loss", () =>
      chart("init-loss", { title: lossTitle(frame, regression ? "Mean squared error against step" : "Loss and accuracy against step"), series, y2: !regression, marks: changeMarks(frame) }, frame),
    );
    timed("activations", () => drawActivations(frame));
    timed("gradients", () => D.histograms(
      $("#init-gradients"),
      layers.map((layer, i) => ({ title: layerTitle(layer, i, layers.length), ...layer.grad_hist, color: COLORS.grad, note: layer.train_grad_var === 0 ? "all exactly 0" : undefined })),
    ));
    timed("variance", () => drawVariance(frame));
    drawFlags(m);
    timed("table", () => table(
      "init-layers",
      ["layer", "units", "Var(z)", "theory", "Var(∂L/∂W)", "Var(∂W) probe", "dead", "saturated", "distinct units"],
      layers.map((l, i) => [
        i === layers.length - 1 ? `${i + 1} · output` : `${i + 1} · ${escape(l.activation)}`,
        l.units,
        fmt(l.pre_var),
        fmt(l.predicted_pre_var),
        fmt(l.train_grad_var),
        fmt(l.probe_grad_var),
        pct(l.dead_fraction),
        pct(l.saturated_fraction),
        `${l.distinct_units} / ${l.units}`,
      ]),
      [0],
      DEFINITIONS,
    ));
  }

  function drawVariance(frame) {
    const layers = frame.measurement.layers;
    const depth = layers.map((_, i) => i + 1);
    const positive = (v) => (num(v) !== null && v > 0 ? v : null);
    const series = [
      ["Var(z) measured", "pre_var", { color: COLORS.network, markers: true }],
      ["Var(z) theory", "predicted_pre_var", { color: COLORS.theory, dash: "dash" }],
      ["Var(∂L/∂W) training loss", "train_grad_var", { color: COLORS.grad, markers: true }],
      ["Var(∂W) random probe", "probe_grad_var", { color: COLORS.probe, dash: "dot", markers: true }],
    ];
    const curves = series.map(([name, key, style]) => ({ name, x: depth, y: layers.map((l) => positive(l[key])), ...style }));
    const zeros = series
      .map(([name, key]) => [name, layers.filter((l) => l[key] === 0).map((l) => l.index)])
      .filter(([, at]) => at.length);
    const anything = curves.some((c) => c.y.some((v) => v !== null));
    chart("init-variance", {
      title: "Variance against depth (layer 1 … L), log scale",
      series: curves,
      log: true,
      xmin: 1,
      xmax: Math.max(2, layers.length),
      xticks: "integer",
      xname: "layer",
      empty: anything ? undefined : "Every variance is exactly 0: nothing to draw on a log axis (see below).",
    });
    const notes = zeros.map(([name, at]) => `${name} is exactly 0 at layer${at.length > 1 ? "s" : ""} ${at.join(", ")}: a log axis cannot show 0, so those points are missing.`);
    notes.push(
      "Var(∂L/∂W): the weight gradient of the training loss (what the histograms above show). Var(∂W) random probe: the weight gradient when a random unit-variance gradient arrives at the output, the quantity the theory and the flags are about; the two differ in scale by design.",
    );
    $("#init-variance-note").textContent = notes.join(" ");
  }

  function drawFlags(m) {
    const box = $("#init-flags");
    const items = m.flags.map(
      (f) => `<div data-kind="${escape(f.kind)}"><b>${escape(f.kind.replace("_", " "))}</b> (layer ${f.layer}): ${escape(f.message)}</div>`,
    );
    if (!items.length) items.push('<div class="ok">No flags: activations and gradients keep their scale through the depth.</div>');
    if (m.theory_note) items.push(`<div class="theory"><b>Theory</b>: ${escape(m.theory_note)}</div>`);
    const rec = m.recommendation;
    items.push(`<div class="rec"><b>Suggested</b>: ${escape(rec.scheme)}${rec.gain_from_activation ? " with per-layer gains" : ""}. ${escape(rec.reason)}</div>`);
    box.innerHTML = items.join("");
  }

  // -- the regularization explorer ---------------------------------------------------------

  function twinSize(id, count) {
    const width = document.getElementById(id).clientWidth || 600;
    return Math.max(150, Math.min(420, Math.floor((width - 16) / count) - 8));
  }

  function drawRegularization(frame) {
    updateButtons("regularization", frame);
    const about = frame.arms[0].about;
    $("#regularization-rule").textContent = about.length ? about.join("\n\n") : "No regularization: the two networks should train alike.";
    const regression = isRegression(frame);
    if (frame.boundary) {
      const size = twinSize("regularization-boundaries", 2);
      frame.arms.forEach((arm, i) =>
        D.heatmap($(`#regularization-boundary-${arm.name}`), boundarySpec(frame, "regularization", i, { title: `${arm.name} (${arm.regularization})`, size })),
      );
    } else {
      for (const arm of frame.arms) canvasMessage(`regularization-boundary-${arm.name}`, noPlane(frame));
    }
    drawDropout(frame);
    const ymax = Math.max(...frame.arms.map((arm) => Math.max(...arm.weights.counts)));
    for (const arm of frame.arms) drawWeights(arm, ymax);
    const traces = (key, dash) => frame.arms.map((arm) => curve(frame, arm, key, { name: `${arm.name}: ${key.replace("_", " ")}`, color: COLORS[arm.name], dash }));
    const marks = changeMarks(frame);
    chart(
      "regularization-loss",
      {
        title: lossTitle(frame, regression ? "Training and validation MSE against step" : "Training and validation loss against step"),
        series: [...traces("train_loss", "solid"), ...traces("val_loss", "dash")],
        marks,
      },
      frame,
    );
    chart("regularization-gap", { title: "Generalization gap (validation − training loss)", series: traces("gap", "solid"), marks, zero: false }, frame);
    chart(
      "regularization-sparsity",
      { title: "Sparsity: weights exactly 0 (solid), |w| < 10⁻³ (dotted)", series: [...traces("sparsity_zero", "solid"), ...traces("sparsity_small", "dot")], ymin: 0, ymax: 1 },
      frame,
    );
    const keys = ["train_loss", "val_loss", ...(regression ? [] : ["train_acc", "val_acc"]), "gap", "penalty", "sparsity_zero", "sparsity_small"];
    const last = (arm, key) => arm.curves[key][arm.curves[key].length - 1];
    table(
      "regularization-summary",
      ["at this step", ...frame.arms.map((a) => `${a.name} (${a.regularization})`)],
      keys.map((key) => [
        key.replace("_", " "),
        ...frame.arms.map((arm) => (key.startsWith("sparsity") || key.endsWith("acc") ? pct(last(arm, key)) : fmt(last(arm, key), 4))),
      ]),
    );
    if (frame.picture) drawPicture("regularization-network", "regularization", frame, frame.picture);
  }

  function drawDropout(frame) {
    const mc = frame.mc_dropout;
    const note = $("#regularization-dropout-note");
    const ids = ["regularization-mc-mean", "regularization-mc-std", "regularization-mc-scaled"];
    if (!mc) {
      const why = frame.boundary
        ? "Choose dropout as the regularizer to see its Monte-Carlo uncertainty here."
        : "The Monte-Carlo dropout map is drawn over the input plane of the 2-D sets.";
      canvasMessage(ids[0], why);
      for (const id of ids.slice(1)) sizedEmpty(id);
      note.textContent = "";
      return;
    }
    const size = twinSize("regularization-dropout", 3);
    const b = frame.boundary;
    const kind = b.kind;
    const common = { x1: b.x1, x2: b.x2, size, points: state.statics.regularization?.points, regression: kind === "value" };
    D.heatmap($(`#${ids[0]}`), { ...common, z: mc.mean, kind, contour: kind === "probability" ? 0.5 : undefined, title: `MC mean of ${mc.samples} masks` });
    D.heatmap($(`#${ids[1]}`), { ...common, z: mc.std, kind: "spread", spreadMax: kind === "probability" ? 0.5 : 1, points: null, title: `MC spread (std), largest ${fmt(mc.largest_std, 2)}` });
    D.heatmap($(`#${ids[2]}`), { ...common, z: b.z[0], kind, contour: kind === "probability" ? 0.5 : undefined, title: "Weight scaling (dropout off)" });
    note.textContent = `Mean |MC mean − weight scaling| over the plane: ${fmt(mc.difference, 3)}. Dark in the spread map: inputs where the masks disagree, the network's uncertainty (Gal & Ghahramani 2016).`;
  }

  function sizedEmpty(id) {
    const canvas = document.getElementById(id);
    canvas.width = 0;
    canvas.height = 0;
    canvas.style.width = "0px";
    canvas.style.height = "0px";
  }

  function drawWeights(arm, ymax) {
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
      title: { text: `${arm.name} (${arm.regularization}): ${h.zeros} of ${total} weights exactly 0${diverged}`, font: { size: 12 } },
      barmode: "overlay",
      showlegend: false,
      margin: { l: 55, r: 20, t: 36, b: 45 },
      xaxis: { title: { text: "weight (same axes for both networks)" }, range: [h.low, h.high] },
      yaxis: { title: { text: "count" }, range: [0, 1.05 * ymax] },
    });
  }

  // -- the init race -----------------------------------------------------------------------

  function drawRace(frame) {
    updateButtons("race", frame);
    const regression = isRegression(frame);
    const color = (i) => RACE_COLORS[i % RACE_COLORS.length];
    const marks = changeMarks(frame);
    chart(
      "race-loss",
      {
        title: lossTitle(frame, `Validation ${regression ? "MSE" : "loss"} (solid) and training (dotted), every init`),
        series: [
          ...frame.arms.map((arm, i) => curve(frame, arm, "val_loss", { name: arm.label, color: color(i) })),
          ...frame.arms.map((arm, i) => curve(frame, arm, "train_loss", { name: `${arm.label} (train)`, color: color(i), dash: "dot", width: 1 })),
        ],
        marks,
      },
      frame,
    );
    const key = regression ? "gap" : "val_acc";
    chart(
      "race-score",
      {
        title: regression ? "Generalization gap, every init" : "Validation accuracy, every init",
        series: frame.arms.map((arm, i) => curve(frame, arm, key, { name: arm.label, color: color(i) })),
        ...(regression ? { zero: false } : { ymin: 0, ymax: 1 }),
      },
      frame,
    );
    drawLanes(frame, color);
    drawClaim(frame);
  }

  function drawLanes(frame, color) {
    const holder = $("#race-lanes");
    if (holder.dataset.arms !== frame.arms.map((a) => a.name).join("|")) {
      holder.dataset.arms = frame.arms.map((a) => a.name).join("|");
      holder.replaceChildren(
        ...frame.arms.map((arm, i) => {
          const lane = document.createElement("div");
          lane.className = "lane";
          lane.dataset.arm = arm.name;
          lane.innerHTML = `<h3><span style="color:${color(i)}">${escape(arm.label)}</span><span class="figures"></span></h3><canvas class="lane-boundary" role="img" aria-label="Boundary of ${escape(arm.label)}"></canvas><canvas class="lane-activations" role="img" aria-label="Activation histograms of ${escape(arm.label)}"></canvas>`;
          return lane;
        }),
      );
    }
    const val = (arm) => {
      const v = arm.curves.val_loss[arm.curves.val_loss.length - 1];
      return num(v) === null ? Infinity : v;
    };
    const leader = frame.arms.reduce((best, arm) => (val(arm) < val(best) ? arm : best), frame.arms[0]);
    frame.arms.forEach((arm, i) => {
      const lane = holder.querySelector(`[data-arm="${CSS.escape(arm.name)}"]`);
      lane.classList.toggle("leader", frame.step > 0 && arm === leader);
      const last = (k) => arm.curves[k]?.[arm.curves[k].length - 1];
      const score = isRegression(frame) ? "" : ` · acc ${pct(last("val_acc"))}`;
      lane.querySelector(".figures").textContent = `val ${fmt(last("val_loss"), 3)}${score}${frame.step > 0 && arm === leader ? " · leads" : ""}`;
      const size = Math.max(120, lane.clientWidth - 8);
      if (frame.boundary) D.heatmap(lane.querySelector(".lane-boundary"), boundarySpec(frame, "race", i, { size }));
      else canvasMessage(lane.querySelector(".lane-boundary"), noPlane(frame));
      const acts = frame.activations[i];
      D.histograms(
        lane.querySelector(".lane-activations"),
        acts.map((a, l) => ({
          title: `L${l + 1} var ${fmt(a.var, 2)}${a.saturated > 0.05 ? ` · ${pct(a.saturated)} sat.` : ""}`,
          ...a.hist,
          color: color(i),
          note: a.var === 0 ? "all equal" : undefined,
        })),
        { min: 95, height: 70, columns: 2 },
      );
    });
  }

  function drawClaim(frame) {
    const claim = frame.claim;
    const box = $("#race-claim");
    if (!claim) {
      box.innerHTML = '<div class="pending">Race zeros, too small, too large, Xavier and He (ticked above) to see the lesson judged.</div>';
      return;
    }
    const verdict = !claim.final ? "pending" : claim.holds ? "holds" : "fails";
    const words = { pending: claim.holds ? "ahead so far" : "not yet", holds: "holds", fails: "does not hold at this setting" };
    box.innerHTML = `<div class="${verdict}" data-verdict="${verdict}"><b>Lesson</b>: ${escape(claim.text)} — <b>${words[verdict]}</b> (margin ${fmt(claim.margin, 3)} in validation loss at step ${frame.step}).</div>`;
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
        // float32 grids: a tenth of the server's time to encode and a third of the bytes.
        const data = await api("POST", "/api/landscape", { ...state.values.landscape, encoding: "float32" });
        data.total = decodeGrid(data.total, data.w1.length);
        data.loss = decodeGrid(data.loss, data.w1.length);
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

  // A grid sent as base64 little-endian float32, row-major: rows of `cols` numbers, with
  // null where a value is not finite (a gap in the contours, as in the JSON encoding).
  function decodeGrid(text, cols) {
    const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
    const values = new Float32Array(bytes.buffer);
    const rows = [];
    for (let start = 0; start < values.length; start += cols) {
      rows.push(Array.from(values.subarray(start, start + cols), (v) => (Number.isFinite(v) ? v : null)));
    }
    return rows;
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
      // On a narrow screen the formula gets a line of its own (the title is not cut).
      title: {
        text: `${d.function}:${window.innerWidth < 500 ? "<br>" : " "}J = ${d.formula}${penalty}, λ = ${fmt(d.lam)}`,
        font: { size: window.innerWidth < 500 ? 10 : 13 },
      },
      ...(window.innerWidth < 500 ? { margin: { l: 42, r: 12, t: 56, b: 64 } } : {}),
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

  // -- the theory section: the phase diagram and one point of it --------------------------

  function showTheory() {
    const t = state.theory;
    if (!t.phase) requestTheory("phase");
    if (!t.point) requestTheory("point");
  }

  function theoryBody(kind) {
    const v = state.values.theory;
    return kind === "phase" ? { activation: v.activation, width: v.width } : { ...v };
  }

  // Ask for the diagram or the point; while one request is out, later changes collapse
  // into one more request when it returns (dragging asks far faster than it is answered).
  async function requestTheory(kind) {
    const t = state.theory;
    if (t.busy[kind]) {
      t.dirty[kind] = true;
      return;
    }
    t.busy[kind] = true;
    const status = $("#theory-status");
    try {
      do {
        t.dirty[kind] = false;
        const body = theoryBody(kind);
        const began = performance.now();
        status.textContent = kind === "phase" ? "solving the phase diagram…" : "measuring the networks…";
        const data = await api("POST", `/api/theory/${kind}`, body);
        t[kind] = data;
        if (t.dirty[kind]) continue;
        showError("theory", null);
        if (kind === "phase") {
          drawPhase();
          if (!t.busy.point) status.textContent = t.measured || "";
        } else {
          drawPoint();
          status.textContent = t.measured = `${data.networks} networks of ${data.depth} layers × ${data.width} units (${data.weights} weights, seed ${data.seed}), measured in ${fmt((performance.now() - began) / 1000, 2)} s.`;
          status.dataset.point = JSON.stringify([data.activation, data.sigma_w, data.sigma_b]);
        }
      } while (t.dirty[kind]);
    } catch (error) {
      // The plots keep the last point the server measured: say which, beside the error.
      const last = t.point;
      status.textContent = last
        ? `Still showing the last valid point (σ_w = ${last.sigma_w}, σ_b = ${last.sigma_b}, ${last.depth} layers × ${last.width} units).`
        : "";
      showError("theory", error);
    } finally {
      t.busy[kind] = false;
    }
  }

  function onTheoryChange(section, name) {
    const before = state.values.theory;
    const values = readForm("theory");
    state.values.theory = values;
    saveUrl();
    if (values.activation !== before.activation || values.width !== before.width) requestTheory("phase");
    else drawPhase();
    requestTheory("point");
  }

  // Move the point to (σ_w², σ_b²) of the diagram: σ_w and σ_b to three decimals.
  function movePoint(sigma_w2, sigma_b2) {
    const round = (v) => Number(Math.sqrt(Math.max(0, v)).toFixed(3));
    const v = state.values.theory;
    const [w, b] = [Math.min(round(sigma_w2), 2), Math.min(round(sigma_b2), 0.5)];
    if (w === v.sigma_w && b === v.sigma_b) return;
    v.sigma_w = w;
    v.sigma_b = b;
    writeForm("theory", v);
    saveUrl();
    drawPhase();
    requestTheory("point");
  }

  function listenToDiagram() {
    const canvas = $("#theory-phase");
    const at = (event) => {
      const [x, y] = pointer(event);
      return state.theory.diagram ? state.theory.diagram.data(x, y) : null;
    };
    canvas.addEventListener("pointerdown", (event) => {
      const [x, y] = pointer(event);
      if (!state.theory.diagram?.inside(x, y)) return;
      state.theory.dragging = true;
      canvas.setPointerCapture(event.pointerId);
      movePoint(...at(event));
    });
    canvas.addEventListener("pointermove", (event) => {
      if (state.theory.dragging) {
        movePoint(...at(event));
        return;
      }
      diagramTip(event);
    });
    const stop = () => (state.theory.dragging = false);
    canvas.addEventListener("pointerup", stop);
    canvas.addEventListener("pointercancel", stop);
    canvas.addEventListener("mouseleave", () => ($("#tooltip").hidden = true));
  }

  function diagramTip(event) {
    const [x, y] = pointer(event);
    const cell = state.theory.diagram?.cell(x, y);
    const tip = $("#tooltip");
    if (!cell) {
      tip.hidden = true;
      return;
    }
    const phase = cell.unbounded ? "length grows without bound" : cell.chi1 > 1 ? "chaotic" : "ordered";
    tip.textContent = `σ_w² ${fmt(cell.sigma_w2)}, σ_b² ${fmt(cell.sigma_b2)}: χ₁ ${fmt(cell.chi1)}, ξ_c ${xiText(cell.xi_c)} (${phase})`;
    tip.hidden = false;
    tip.style.left = `${event.clientX + 12}px`;
    tip.style.top = `${event.clientY + 12}px`;
  }

  const tiny = (v) => (v !== null && Math.abs(v) < 1e-12 ? 0 : v); // rounding's leftovers
  const xiText = (v) => (v === "inf" || v === Infinity ? "∞" : fmt(Number(v)));

  function drawPhase() {
    const d = state.theory.phase;
    if (!d || state.tab !== "theory") return;
    const v = state.values.theory;
    const point = [num(v.sigma_w) ** 2, num(v.sigma_b) ** 2];
    const canvas = $("#theory-phase");
    state.theory.diagram = D.phase(canvas, { grid: d.grid, window: d.window, critical: d.critical_line, schemes: d.schemes, point });
    const critical = num(d.critical_sigma_w2_at_zero_bias);
    const [, wmax] = d.window.sigma_w2;
    const line = critical === null ? "no critical line" : `the critical line χ₁ = 1 at σ_w² = ${fmt(critical, 4)} for σ_b² = 0`;
    $("#theory-phase-title").textContent = `Mean-field phase diagram of ${d.activation}: ordered and chaotic phases, ${line}; colour: correlation depth scale ξ_c`;
    const off = d.schemes.filter((s) => !s.inside).map((s) => `${s.scheme} (σ_w² = ${fmt(s.sigma_w2)})`);
    const notes = [];
    if (critical !== null && critical > wmax) notes.push(`The critical line lies right of this window (σ_w² = ${fmt(critical, 4)} at σ_b² = 0): every point here is ordered.`);
    if (off.length) notes.push(`Off the diagram at width ${d.width}: ${off.join(", ")}.`);
    notes.push("Grid and critical line from weightlab.theory.phase_diagram; a scheme's point is width × Var(W), biases zero (torch's default draws them).");
    $("#theory-phase-note").textContent = notes.join(" ");
    canvas.setAttribute(
      "aria-label",
      `Phase diagram of ${d.activation} over σ_w² from 0 to ${fmt(wmax)} and σ_b² from 0 to ${fmt(d.window.sigma_b2[1])}: ordered left of ${line}, chaotic right of it. The point is at σ_w² = ${fmt(point[0], 4)}, σ_b² = ${fmt(point[1], 4)}.`,
    );
    table(
      "theory-schemes",
      ["scheme", "σ_w²", "σ_b²", "phase", "χ₁", "ξ_c", "q*", "c*"],
      d.schemes.map((s) => [
        s.inside ? `<a data-scheme="${escape(s.scheme)}" title="Move the point here">${escape(s.scheme)}</a>` : `${escape(s.scheme)} <span class="muted">(off the diagram)</span>`,
        fmt(s.sigma_w2, 4),
        fmt(s.sigma_b2, 3),
        escape(s.phase),
        fmt(num(s.chi1), 4),
        xiText(s.xi_c),
        xiText(s.q_star),
        fmt(tiny(num(s.c_star)), 4),
      ]),
      [0, 3],
      THEORY_TERMS,
    );
    for (const a of document.querySelectorAll("#theory-schemes [data-scheme]")) {
      const s = d.schemes.find((x) => x.scheme === a.dataset.scheme);
      a.addEventListener("click", () => movePoint(s.sigma_w2, s.sigma_b2));
    }
  }

  const THEORY_TERMS = {
    "χ₁": "σ_w² E[φ′(h)²] at the fixed length q*: the slope of the correlation map at c = 1. Below 1 ordered, above 1 chaotic.",
    "ξ_c": "Correlation depth scale: |c^l − c*| ~ exp(−l/ξ_c). Infinite on the critical line: signals travel deepest there.",
    "q*": "Fixed point of the length map (∞: the length grows without bound).",
    "c*": "Fixed point of the correlation map: 1 in the ordered phase, below 1 in the chaotic one.",
  };

  function drawPoint() {
    const p = state.theory.point;
    if (!p || state.tab !== "theory") return;
    const L = p.layers;
    const mf = p.mean_field;
    const positive = (v) => (num(v) !== null && v > 0 ? v : null);
    chart("theory-q", {
      title: "Length qˡ: mean square of the pre-activations, log scale",
      series: [
        { name: "measured", x: L.layer, y: L.measured_q.map(positive), color: COLORS.network, markers: true },
        { name: "length map", x: L.layer, y: L.predicted_q.map(positive), color: COLORS.theory, dash: "dash" },
      ],
      log: true,
      xmin: 1,
      xmax: Math.max(2, p.depth),
      xticks: "integer",
      xname: "layer",
      empty: L.measured_q.some((q) => positive(q) !== null) ? undefined : "Every length is 0: nothing to draw on a log axis.",
    });
    const band = (sign) => L.predicted_c.map((c, i) => num(c) === null || num(L.pair_sd[i]) === null ? null : c + (sign * 2 * L.pair_sd[i]) / Math.sqrt(p.networks));
    const cs = [...L.measured_c, ...L.predicted_c].map(num).filter((c) => c !== null);
    chart("theory-c", {
      title: `Correlation cˡ of two inputs' pre-activations (c⁰ = ${p.input_corr})`,
      series: [
        { name: `measured (mean of ${p.networks} networks)`, x: L.layer, y: L.measured_c.map(num), color: COLORS.network, markers: true },
        { name: "correlation map", x: L.layer, y: L.predicted_c.map(num), color: COLORS.theory, dash: "dash" },
        { name: "map ± 2 s/√networks", x: L.layer, y: band(1), color: "#8c959f", dash: "dot", width: 1 },
        { name: "map − 2 s/√networks", x: L.layer, y: band(-1), color: "#8c959f", dash: "dot", width: 1, legend: false },
      ],
      xmin: 1,
      xmax: Math.max(2, p.depth),
      ymin: Math.min(0, ...cs),
      ymax: 1.02,
      xticks: "integer",
      xname: "layer",
    });
    const last = L.layer.length - 1;
    $("#theory-q-note").textContent = `Layer ${p.depth}: measured ${fmt(L.measured_q[last])}, predicted ${fmt(L.predicted_q[last])}; fixed point q* = ${xiText(mf.q_star)}, ξ_q = ${xiText(mf.xi_q)}.`;
    $("#theory-c-note").textContent = `Layer ${p.depth}: measured ${fmt(L.measured_c[last])} ± ${fmt(L.measured_c_se[last], 2)} (standard error), predicted ${fmt(L.predicted_c[last])}; fixed point c* = ${fmt(tiny(num(mf.c_star)), 4)}. s: one pair's derived standard deviation (weightlab.theory.correlation).`;
    drawSpectrum(p);
    drawPointInfo(p);
  }

  function drawSpectrum(p) {
    const s = p.spectrum;
    const h = s.histogram;
    const log10 = (v) => (num(v) !== null && v > 0 ? Math.log10(v) : null);
    const marks = [
      { x: log10(Math.sqrt(num(s.mean_sq) ?? 0)), color: COLORS.network },
      { x: log10(Math.sqrt(num(s.predicted_mean_sq) ?? 0)), color: COLORS.theory, dash: true },
    ];
    const unresolved = num(s.unresolved) ?? 0;
    D.histograms(
      $("#theory-spectrum"),
      [{
        title: `log₁₀ σ: ${s.count} values (${p.inputs ?? s.inputs} inputs, depth ${s.depth})`,
        counts: h.counts,
        low: num(h.low),
        high: num(h.high),
        color: COLORS.network,
        marks,
        note: h.counts.length ? undefined : "every singular value is 0",
      }],
      { height: 220, columns: 1 },
    );
    const atZero = num(p.mean_field.q_star) === 0;
    $("#theory-spectrum-note").textContent =
      `Lines: √(mean σ²) measured (solid) and free probability's (dashed). The Jacobian is taken at inputs at the fixed length q*.` +
      (atZero
        ? ` Here q* = 0 (the signal fades to nothing): the inputs get the vanishing length 10⁻¹², so the Jacobian is its limit at the zero signal, as free probability's moments take it.`
        : unresolved > 0
          ? ` ${pct(unresolved)} of the values lie below 10⁻¹⁰ σ_max, beyond float64's reach through the layers: left out of the histogram and the log statistics (the log spread is then a lower bound).`
          : "");
    $("#theory-spectrum").setAttribute(
      "aria-label",
      `Histogram of log₁₀ of the Jacobian's singular values: mean log σ ${fmt(num(s.mean_log))}, standard deviation ${fmt(num(s.std_log))}; mean σ² ${fmt(num(s.mean_sq))} measured, ${fmt(num(s.predicted_mean_sq))} predicted.`,
    );
    const ratio = (v, m) => (num(v) !== null && num(m) ? v / (m * m) : null);
    const dash = (v) => (v === null || v === undefined ? "—" : fmt(num(v), 4));
    table(
      "theory-spectrum-table",
      ["quantity", "measured", "free probability"],
      [
        ["mean σ²", fmt(num(s.mean_sq), 4), fmt(num(s.predicted_mean_sq), 4)],
        ["var σ² / mean²", fmt(ratio(s.var_sq, s.mean_sq), 4), fmt(ratio(s.predicted_var_sq, s.predicted_mean_sq), 4)],
        ["mean log σ", fmt(num(s.mean_log), 4), dash(s.predicted_mean_log)],
        ["std log σ", fmt(num(s.std_log), 4), dash(s.predicted_std_log)],
        ["below resolution", pct(unresolved), ""],
      ],
      [0],
      {
        "free probability": "Pennington, Schoenholz & Ganguli 2017: mean σ² = χ₁^L and var σ²/mean² = L(μ₂/μ₁² − 1 + s), s = 1 Gaussian, 0 orthogonal. log σ only for linear layers (Fuss–Catalan, or exactly σ_w^L for orthogonal weights).",
      },
    );
  }

  function drawPointInfo(p) {
    const mf = p.mean_field;
    const words = { ordered: "nearby inputs converge and gradients vanish with depth", chaotic: "nearby inputs decorrelate and gradients explode with depth", critical: "signals and gradients travel deepest" };
    const unbounded = mf.q_star === "inf";
    const text = unbounded ? "no fixed length: the length and the gradients grow without bound with depth, while the correlation still tends to c* = 1" : words[mf.phase] || mf.phase;
    $("#theory-info").innerHTML =
      `<div class="${escape(mf.phase)}" data-phase="${escape(mf.phase)}"><b>σ_w² = ${fmt(p.sigma_w2, 4)}, σ_b² = ${fmt(p.sigma_b2, 4)}</b>: ${escape(mf.phase)}, ${escape(text)}.<br>` +
      `χ₁ = ${fmt(num(mf.chi1), 4)}, ξ_c = ${xiText(mf.xi_c)}, ξ_q = ${xiText(mf.xi_q)}, q* = ${xiText(mf.q_star)}, c* = ${fmt(tiny(num(mf.c_star)), 4)}</div>`;
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

  const DRAW = { init: drawInit, regularization: drawRegularization, race: drawRace };

  // Redraw the shown section at the new size (canvases do not resize themselves).
  let resizeTimer = null;
  function onResize() {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      const frame = state.frames[state.tab];
      if (TRAINED.includes(state.tab) && frame && !state.pending[state.tab]) DRAW[state.tab](frame);
      if (state.tab === "theory") {
        drawPhase();
        drawPoint();
      }
    }, 150);
  }

  async function start() {
    state.meta = await api("GET", "/api/meta");
    PLANE = [...state.meta.datasets.classification, ...state.meta.datasets.regression];
    for (const section of [...state.meta.sections].reverse()) {
      TABS.unshift(section.name);
      PREFIX[section.name] = section.prefix;
    }
    TRAINED.push(...state.meta.sections.map((section) => section.name));
    for (const section of state.meta.sections) {
      state.live[section.name] = new Set(section.live);
      state.generation[section.name] ??= 0;
      state.shownStep[section.name] ??= -1;
      state.running[section.name] ??= false;
      state.configured[section.name] ??= false;
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
    buildForm("theory", state.meta.schemas.theory, onTheoryChange);
    writeForm("theory", state.values.theory);
    listenToDiagram();
    for (const bar of document.querySelectorAll(".controls")) {
      bar.addEventListener("click", (event) => {
        const action = event.target.closest("button")?.dataset.action;
        if (action) control(bar.dataset.section, action);
      });
    }
    for (const b of document.querySelectorAll("#tabs button")) {
      b.addEventListener("click", () => showTab(b.dataset.tab));
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
    window.addEventListener("resize", onResize);
    // Leaving the page ends its session, so reloads and closed tabs do not use up the
    // sessions a client may hold; a page restored from the back-forward cache makes a
    // new one.
    window.addEventListener("pagehide", leave);
    window.addEventListener("pageshow", (event) => {
      if (event.persisted) reconnect();
    });
    try {
      await connect();
    } catch (error) {
      // The sections that train need a session; the others work without one.
      $("#connection").textContent = `error: ${error.message}`;
    }
    showTab(state.tab);
  }

  window.addEventListener("DOMContentLoaded", () => {
    start().catch((error) => {
      $("#connection").textContent = `error: ${error.message}`;
    });
  });
})();
