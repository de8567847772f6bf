// weightlab lab: canvas drawings that Plotly would draw too slowly for every frame.
//
// Heatmaps over the input plane (decision boundaries, fitted surfaces, Monte-Carlo
// dropout maps, each unit of the network picture), histogram small multiples, the
// network picture with its hover and click targets, and the mean-field phase diagram
// with its draggable point.  Colours follow TensorFlow Playground: orange for negative
// (class 0), white for 0, blue for positive (class 1).
"use strict";

window.WLDraw = (() => {
  const NEG = [245, 147, 34];
  const MID = [232, 234, 235];
  const POS = [8, 119, 189];
  const INK = "#1f2328";
  const MUTED = "#6a737d";
  const LINE = "#d8dee4";

  // v in [-1, 1] → [r, g, b] on the orange–white–blue scale.
  function rgb(v) {
    const t = Math.max(-1, Math.min(1, Number.isFinite(v) ? v : 0));
    const end = t < 0 ? NEG : POS;
    const a = Math.abs(t);
    return [0, 1, 2].map((i) => Math.round(MID[i] + (end[i] - MID[i]) * a));
  }
  const css = (v, alpha = 1) => `rgba(${rgb(v).join(",")},${alpha})`;
  // The same scale washed toward white: a background that points stand out on.
  const light = (v) => rgb(v).map((c) => Math.round(c + (255 - c) * 0.45));
  // Sequential scale for a spread (0 → white, 1 → dark purple).
  function spread(v) {
    const t = Math.max(0, Math.min(1, v));
    return [Math.round(250 - 160 * t), Math.round(250 - 200 * t), Math.round(252 - 90 * t)];
  }

  // A canvas sized to `width` × `height` CSS pixels, sharp on high-DPI screens.
  function sized(canvas, width, height) {
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(width));
    const h = Math.max(1, Math.round(height));
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(h * dpr);
      canvas.style.width = `${w}px`;
      canvas.style.height = `${h}px`;
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    return ctx;
  }

  // A small offscreen image of rows × cols values mapped by `color` (row 0 at the bottom).
  function image(rows, color) {
    const h = rows.length;
    const w = rows[0].length;
    const off = document.createElement("canvas");
    off.width = w;
    off.height = h;
    const ctx = off.getContext("2d");
    const data = ctx.createImageData(w, h);
    for (let i = 0; i < h; i++) {
      const row = rows[h - 1 - i];
      for (let j = 0; j < w; j++) {
        const [r, g, b] = color(row[j]);
        const k = 4 * (i * w + j);
        data.data[k] = r;
        data.data[k + 1] = g;
        data.data[k + 2] = b;
        data.data[k + 3] = 255;
      }
    }
    ctx.putImageData(data, 0, 0);
    return off;
  }

  // Base64 bytes (0–255 ↦ −1…1) as rows of a g × g grid.
  function decode(text, g) {
    const bytes = atob(text);
    const rows = [];
    for (let i = 0; i < g; i++) {
      const row = new Array(g);
      for (let j = 0; j < g; j++) row[j] = bytes.charCodeAt(i * g + j) / 127.5 - 1;
      rows.push(row);
    }
    return rows;
  }

  // Segments where a grid crosses `level` (marching squares, linear interpolation).
  function contour(z, level) {
    const out = [];
    const n = z.length;
    const m = z[0].length;
    const at = (a, b) => (level - a) / (b - a);
    for (let i = 0; i < n - 1; i++) {
      for (let j = 0; j < m - 1; j++) {
        const v = [z[i][j], z[i][j + 1], z[i + 1][j + 1], z[i + 1][j]];
        const p = [
          [j, i],
          [j + 1, i],
          [j + 1, i + 1],
          [j, i + 1],
        ];
        const cross = [];
        for (let e = 0; e < 4; e++) {
          const a = v[e];
          const b = v[(e + 1) % 4];
          if ((a < level) !== (b < level)) {
            const t = at(a, b);
            const [x0, y0] = p[e];
            const [x1, y1] = p[(e + 1) % 4];
            cross.push([x0 + t * (x1 - x0), y0 + t * (y1 - y0)]);
          }
        }
        if (cross.length >= 2) out.push([cross[0], cross[1]]);
        if (cross.length === 4) out.push([cross[2], cross[3]]);
      }
    }
    return out;
  }

  // Round tick values (1, 2 or 5 × 10^k apart) inside [from, to].
  function ticks(from, to, count) {
    const raw = (to - from) / Math.max(1, count - 1);
    const power = 10 ** Math.floor(Math.log10(raw));
    const step = [10, 5, 2, 1].map((m) => m * power).find((s) => s <= raw) || raw;
    const out = [];
    for (let v = Math.ceil(from / step) * step; v <= to + 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
    return out;
  }
  const short = (v) => {
    if (Number.isInteger(v) && Math.abs(v) < 1e6) return String(v);
    return Math.abs(v) >= 1e4 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(1) : String(Number(v.toPrecision(2)));
  };

  // A heatmap over the plane with axes, optional 0.5 contour and data points.
  //   spec: {z, x1, x2, kind: "probability"|"value"|"spread", title, points, contour,
  //          showVal, note, size}
  function heatmap(canvas, spec) {
    const width = spec.size || canvas.parentElement.clientWidth || 300;
    const left = 30;
    const top = spec.title ? 20 : 4;
    const bottom = 18;
    const plot = Math.max(60, Math.min(width - left - 6, spec.maxPlot || 420));
    const ctx = sized(canvas, left + plot + 6, top + plot + bottom);
    ctx.font = "11px system-ui, sans-serif";
    if (spec.title) {
      ctx.fillStyle = INK;
      ctx.fillText(spec.title, 2, 13, left + plot);
    }
    const kind = spec.kind || "probability";
    const color = kind === "spread" ? (v) => spread(v / (spec.spreadMax || 0.5)) : kind === "probability" ? (v) => light(2 * v - 1) : (v) => light(v);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(image(spec.z, color), left, top, plot, plot);
    const [a0, a1] = [spec.x1[0], spec.x1[spec.x1.length - 1]];
    const [b0, b1] = [spec.x2[0], spec.x2[spec.x2.length - 1]];
    const sx = (x) => left + ((x - a0) / (a1 - a0)) * plot;
    const sy = (y) => top + plot - ((y - b0) / (b1 - b0)) * plot;
    if (spec.contour !== undefined) {
      const n = spec.z.length;
      const m = spec.z[0].length;
      ctx.strokeStyle = INK;
      ctx.lineWidth = 1.4;
      ctx.beginPath();
      for (const [[x0, y0], [x1, y1]] of contour(spec.z, spec.contour)) {
        ctx.moveTo(left + (x0 / (m - 1)) * plot, top + plot - (y0 / (n - 1)) * plot);
        ctx.lineTo(left + (x1 / (m - 1)) * plot, top + plot - (y1 / (n - 1)) * plot);
      }
      ctx.stroke();
    }
    const pts = spec.points;
    if (pts) {
      const dot = (x, y, label, hollow) => {
        const fill = kind === "value" || spec.regression ? css(label) : label ? `rgb(${POS})` : `rgb(${NEG})`;
        ctx.beginPath();
        ctx.arc(sx(x), sy(y), plot < 200 ? 2.4 : 3.2, 0, 2 * Math.PI);
        if (hollow) {
          ctx.strokeStyle = fill;
          ctx.lineWidth = 1.4;
          ctx.stroke();
        } else {
          ctx.fillStyle = fill;
          ctx.fill();
          ctx.strokeStyle = spec.regression ? INK : "white";
          ctx.lineWidth = spec.regression ? 0.6 : 0.8;
          ctx.stroke();
        }
      };
      pts.x1.forEach((x, i) => dot(x, pts.x2[i], pts.label[i], false));
      if (spec.showVal && pts.val) pts.val.x1.forEach((x, i) => dot(x, pts.val.x2[i], pts.val.label[i], true));
    }
    ctx.strokeStyle = LINE;
    ctx.lineWidth = 1;
    ctx.strokeRect(left, top, plot, plot);
    ctx.fillStyle = MUTED;
    ctx.textAlign = "center";
    for (const x of ticks(a0, a1, 3)) ctx.fillText(short(x), sx(x), top + plot + 13);
    ctx.textAlign = "right";
    for (const y of ticks(b0, b1, 3)) ctx.fillText(short(y), left - 3, sy(y) + 4);
    ctx.textAlign = "left";
    if (spec.note) {
      ctx.fillStyle = "rgba(255,255,255,0.85)";
      ctx.fillRect(left + 4, top + 4, Math.min(plot - 8, ctx.measureText(spec.note).width + 8), 16);
      ctx.fillStyle = INK;
      ctx.fillText(spec.note, left + 8, top + 16, plot - 16);
    }
    canvas.dataset.drawn = String(Number(canvas.dataset.drawn || 0) + 1);
  }

  // Histogram small multiples on one canvas.
  //   panels: [{title, counts, low, high, color, highlight, overlay: {counts, label},
  //             marks: [{x, color, dash}] (vertical lines at x on the bins' axis), note}]
  //   opts: {min: panel width, height: panel height, ymax: [per panel] shared maxima}
  function histograms(canvas, panels, opts = {}) {
    const width = canvas.parentElement.clientWidth || 600;
    const minWidth = opts.min || 150;
    const columns = Math.max(1, Math.min(panels.length, Math.floor(width / minWidth), opts.columns || 6));
    const rows = Math.ceil(panels.length / columns);
    const ph = opts.height || 96;
    const pw = width / columns;
    const ctx = sized(canvas, width, rows * ph + 2);
    ctx.font = "10px system-ui, sans-serif";
    panels.forEach((panel, k) => {
      const x = (k % columns) * pw;
      const y = Math.floor(k / columns) * ph;
      const inner = { x: x + 6, y: y + 15, w: pw - 12, h: ph - 30 };
      if (panel.highlight) {
        ctx.fillStyle = "#fff8c5";
        ctx.fillRect(x + 1, y + 1, pw - 2, ph - 2);
        ctx.strokeStyle = "#9a6700";
        ctx.lineWidth = 1.5;
        ctx.strokeRect(x + 1, y + 1, pw - 2, ph - 2);
      }
      ctx.fillStyle = INK;
      ctx.textAlign = "left";
      ctx.fillText(panel.title, inner.x, y + 11, inner.w);
      const counts = panel.counts || [];
      const top = (opts.ymax && opts.ymax[k]) || Math.max(1, ...counts);
      const bw = inner.w / Math.max(1, counts.length);
      ctx.fillStyle = panel.color || "#1f6feb";
      counts.forEach((c, i) => {
        const h = (c / top) * inner.h;
        ctx.fillRect(inner.x + i * bw, inner.y + inner.h - h, Math.max(1, bw - 0.5), h);
      });
      const over = panel.overlay;
      if (over && over.counts.length) {
        const otop = Math.max(1, ...over.counts);
        const ow = inner.w / over.counts.length;
        ctx.strokeStyle = "#cf222e";
        ctx.lineWidth = 1.6;
        ctx.beginPath();
        over.counts.forEach((c, i) => {
          const yy = inner.y + inner.h - (c / otop) * inner.h;
          if (i === 0) ctx.moveTo(inner.x, yy);
          ctx.lineTo(inner.x + i * ow, yy);
          ctx.lineTo(inner.x + (i + 1) * ow, yy);
        });
        ctx.stroke();
      }
      ctx.strokeStyle = LINE;
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.moveTo(inner.x, inner.y + inner.h + 0.5);
      ctx.lineTo(inner.x + inner.w, inner.y + inner.h + 0.5);
      ctx.stroke();
      ctx.fillStyle = MUTED;
      if (Number.isFinite(panel.low)) {
        ctx.fillText(short(panel.low), inner.x, inner.y + inner.h + 11);
        ctx.textAlign = "right";
        ctx.fillText(short(panel.high), inner.x + inner.w, inner.y + inner.h + 11);
      }
      for (const mark of panel.marks || []) {
        if (!Number.isFinite(mark.x) || !Number.isFinite(panel.low) || mark.x < panel.low || mark.x > panel.high) continue;
        const mx = inner.x + ((mark.x - panel.low) / (panel.high - panel.low)) * inner.w;
        ctx.strokeStyle = mark.color;
        ctx.lineWidth = 1.8;
        ctx.setLineDash(mark.dash ? [5, 3] : []);
        ctx.beginPath();
        ctx.moveTo(mx, inner.y);
        ctx.lineTo(mx, inner.y + inner.h);
        ctx.stroke();
        ctx.setLineDash([]);
      }
      if (panel.note) {
        ctx.textAlign = "center";
        ctx.fillText(panel.note, inner.x + inner.w / 2, inner.y + inner.h / 2, inner.w);
      }
      ctx.textAlign = "left";
    });
    canvas.dataset.panels = String(panels.length);
    canvas.dataset.drawn = String(Number(canvas.dataset.drawn || 0) + 1);
  }

  // The network picture.  Returns hit targets for hover and click.
  //   pic: the frame's picture; output: {z, kind} heat of the output unit (2-D data);
  //   selected: {layer, unit} or null; hiddenActivation: the activation's name.
  function network(canvas, pic, output, selected) {
    const columns = [pic.inputs.length, ...pic.hidden.map((l) => l.shown), Math.min(pic.outputs, 16)];
    const count = columns.length;
    const available = canvas.parentElement.clientWidth || 800;
    const width = Math.max(available, count * 46);
    const node = Math.max(18, Math.min(30, Math.floor(width / count) - 18));
    const pitch = node + 8;
    const top = 30;
    const tallest = Math.max(...columns);
    const height = top + tallest * pitch + 22;
    const ctx = sized(canvas, width, height);
    const colX = (c) => 8 + (c + 0.5) * ((width - 16) / count) - node / 2;
    const rowY = (c, i) => top + ((tallest - columns[c]) * pitch) / 2 + i * pitch;
    const nodes = [];
    const edges = [];
    // Edges first, under the nodes; each layer's widths scale by its largest weight.  They
    // are stroked in 2 × LEVELS batches (sign, strength), not one by one.
    const LEVELS = 8;
    const batches = Array.from({ length: 2 * LEVELS }, () => []);
    pic.weights.forEach((w, l) => {
      let largest = 0;
      for (const row of w) for (const v of row) largest = Math.max(largest, Math.abs(v));
      if (!largest) return;
      w.forEach((row, i) => {
        row.forEach((v, j) => {
          if (v === 0) return; // an exact zero (L1) is no edge
          const edge = { x0: colX(l) + node, y0: rowY(l, j) + node / 2, x1: colX(l + 1), y1: rowY(l + 1, i) + node / 2, value: v, from: [l, j], to: [l + 1, i] };
          const level = Math.min(LEVELS - 1, Math.floor((Math.abs(v) / largest) * LEVELS));
          batches[(v > 0 ? LEVELS : 0) + level].push(edge);
          edges.push(edge);
        });
      });
    });
    batches.forEach((batch, k) => {
      if (!batch.length) return;
      const level = k % LEVELS;
      const a = (level + 0.5) / LEVELS;
      ctx.strokeStyle = css(k >= LEVELS ? 1 : -1, 0.12 + 0.7 * a);
      // One-pixel lines rasterize an order of magnitude faster than wider ones: only the
      // strongest quarter of a layer's weights is drawn thicker.
      ctx.lineWidth = level < LEVELS - 2 ? 1 : level === LEVELS - 2 ? 2 : 3;
      ctx.beginPath();
      for (const e of batch) {
        ctx.moveTo(e.x0, e.y0);
        ctx.lineTo(e.x1, e.y1);
      }
      ctx.stroke();
    });
    ctx.font = "10px system-ui, sans-serif";
    ctx.textAlign = "center";
    const g = pic.grid;
    // Every unit's heatmap in one image (one tile per unit), drawn tile by tile.
    const tiles = [];
    if (g) {
      for (const input of pic.inputs) tiles.push(input.heat);
      for (const layer of pic.hidden) for (let u = 0; u < layer.shown; u++) tiles.push(layer.heat ? layer.heat[u] : null);
    }
    const atlas = g && tiles.length ? atlasOf(tiles, g) : null;
    let tile = 0;
    const drawNode = (c, i, heat, mark) => {
      const x = colX(c);
      const y = rowY(c, i);
      if (heat === "atlas" && atlas) {
        ctx.imageSmoothingEnabled = true;
        ctx.drawImage(atlas, tile * g, 0, g, g, x, y, node, node);
      } else if (heat && heat !== "atlas") {
        ctx.imageSmoothingEnabled = true;
        ctx.drawImage(heat, x, y, node, node);
      } else {
        ctx.fillStyle = "#f6f8fa";
        ctx.fillRect(x, y, node, node);
      }
      ctx.lineWidth = 1;
      ctx.strokeStyle = LINE;
      ctx.setLineDash([]);
      if (mark.dead) {
        ctx.strokeStyle = "#cf222e";
        ctx.lineWidth = 2;
      } else if (mark.saturated) {
        ctx.strokeStyle = "#8250df";
        ctx.lineWidth = 2;
      } else if (mark.constant) {
        ctx.strokeStyle = MUTED;
        ctx.setLineDash([3, 2]);
        ctx.lineWidth = 1.4;
      }
      if (mark.selected) {
        ctx.strokeStyle = INK;
        ctx.lineWidth = 3;
        ctx.setLineDash([]);
      }
      ctx.strokeRect(x, y, node, node);
      ctx.setLineDash([]);
      if (mark.dead) {
        ctx.fillStyle = "#cf222e";
        ctx.fillText("✕", x + node / 2, y + node / 2 + 4);
      }
      nodes.push({ x, y, size: node, ...mark.info });
    };
    pic.inputs.forEach((input, i) => {
      drawNode(0, i, input.heat && g ? "atlas" : null, { info: { kind: "input", label: input.label, index: i } });
      if (g) tile += 1;
      ctx.fillStyle = INK;
      ctx.textAlign = "right";
      ctx.fillText(input.label, colX(0) - 3, rowY(0, i) + node / 2 + 3);
      ctx.textAlign = "center";
    });
    pic.hidden.forEach((layer, l) => {
      for (let u = 0; u < layer.shown; u++) {
        const heat = layer.heat && g ? "atlas" : null;
        const selectedHere = selected && selected.layer === l && selected.unit === u;
        drawNode(l + 1, u, heat, {
          dead: layer.dead[u],
          saturated: layer.saturated[u],
          constant: layer.constant[u],
          selected: selectedHere,
          info: { kind: "unit", layer: l, unit: u, dead: layer.dead[u], saturated: layer.saturated[u], constant: layer.constant[u], bias: pic.biases[l][u] },
        });
        if (g) tile += 1;
      }
    });
    const outHeat = output && output.z ? image(output.z, output.kind === "probability" ? (v) => rgb(2 * v - 1) : (v) => rgb(v)) : null;
    for (let i = 0; i < columns[count - 1]; i++) {
      drawNode(count - 1, i, i === 0 ? outHeat : null, { info: { kind: "output", index: i, bias: pic.biases[pic.biases.length - 1][i] } });
    }
    // Column headings and how many units are not drawn.
    ctx.fillStyle = INK;
    const heading = (c, text, more) => {
      ctx.fillText(text, colX(c) + node / 2, 12);
      if (more) {
        ctx.fillStyle = MUTED;
        ctx.fillText(more, colX(c) + node / 2, rowY(c, columns[c]) + 4);
        ctx.fillStyle = INK;
      }
    };
    heading(0, "input", pic.n_inputs > pic.inputs.length ? `+${pic.n_inputs - pic.inputs.length}` : "");
    pic.hidden.forEach((layer, l) => heading(l + 1, `${l + 1}: ${layer.units}`, layer.units > layer.shown ? `+${layer.units - layer.shown}` : ""));
    heading(count - 1, pic.output || "output", pic.outputs > columns[count - 1] ? `+${pic.outputs - columns[count - 1]}` : "");
    ctx.textAlign = "left";
    canvas.dataset.drawn = String(Number(canvas.dataset.drawn || 0) + 1);
    return { nodes, edges, node };
  }

  // Tiles of g × g base64 bytes side by side in one image (row 0 of a tile at its bottom).
  function atlasOf(tiles, g) {
    const off = document.createElement("canvas");
    off.width = g * tiles.length;
    off.height = g;
    const ctx = off.getContext("2d");
    const data = ctx.createImageData(off.width, g);
    const table = Array.from({ length: 256 }, (_, b) => rgb(b / 127.5 - 1));
    tiles.forEach((text, t) => {
      if (!text) return;
      const bytes = atob(text);
      for (let i = 0; i < g; i++) {
        for (let j = 0; j < g; j++) {
          const [r, gg, b] = table[bytes.charCodeAt(i * g + j)];
          const k = 4 * ((g - 1 - i) * off.width + t * g + j);
          data.data[k] = r;
          data.data[k + 1] = gg;
          data.data[k + 2] = b;
          data.data[k + 3] = 255;
        }
      }
    });
    ctx.putImageData(data, 0, 0);
    return off;
  }

  // What is under (x, y): a node, or the nearest edge within 4 px.
  function hit(targets, x, y) {
    if (!targets) return null;
    for (const n of targets.nodes) {
      if (x >= n.x && x <= n.x + n.size && y >= n.y && y <= n.y + n.size) return { node: n };
    }
    let best = null;
    let bestD = 4;
    for (const e of targets.edges) {
      const dx = e.x1 - e.x0;
      const dy = e.y1 - e.y0;
      const t = Math.max(0, Math.min(1, ((x - e.x0) * dx + (y - e.y0) * dy) / (dx * dx + dy * dy)));
      const d = Math.hypot(x - (e.x0 + t * dx), y - (e.y0 + t * dy));
      if (d < bestD) {
        bestD = d;
        best = e;
      }
    }
    return best ? { edge: best } : null;
  }

  // A line chart: curves against step (or layer), a log or linear y axis, an optional
  // second y axis (0–100 %) on the right, a legend below, and vertical marks.
  //   spec: {title, series: [{name, x, y, color, dash, width, y2, legend}], log, y2, xmin, xmax,
  //          ymin, ymax, xticks: "integer", marks: [{x, text}], empty}
  // Returns what hover needs: the scales and the series.
  function lines(canvas, spec) {
    const width = canvas.parentElement.clientWidth || 400;
    const height = spec.height || 300;
    const ctx = sized(canvas, width, height);
    ctx.font = "11px system-ui, sans-serif";
    const series = spec.series.filter((s) => s.x.length);
    // The legend first: its rows decide how much room the plot has.
    ctx.font = "10px system-ui, sans-serif";
    const legendRows = [];
    let row = [];
    let used = 8;
    for (const s of spec.series.filter((s) => s.legend !== false)) {
      const w = ctx.measureText(s.name).width + 30;
      if (used + w > width - 8 && row.length) {
        legendRows.push(row);
        row = [];
        used = 8;
      }
      row.push([s, used]);
      used += w;
    }
    if (row.length) legendRows.push(row);
    // A title too long for the width folds at its dash (or its middle space).
    ctx.font = "11px system-ui, sans-serif";
    let titleLines = spec.title ? [spec.title] : [];
    if (spec.title && ctx.measureText(spec.title).width > width - 8) {
      const cut = spec.title.includes(" — ") ? spec.title.indexOf(" — ") : spec.title.lastIndexOf(" ", Math.floor(spec.title.length / 2));
      titleLines = [spec.title.slice(0, cut), spec.title.slice(cut).replace(/^ — | /, "")];
    }
    const m = { l: 48, r: spec.y2 ? 40 : 12, t: 8 + 14 * titleLines.length + (titleLines.length ? 2 : 0), b: 22 + 14 * legendRows.length };
    const pw = Math.max(40, width - m.l - m.r);
    const ph = Math.max(40, height - m.t - m.b);
    const finite = (v) => v !== null && Number.isFinite(v) && (!spec.log || v > 0);
    const xs = series.flatMap((s) => s.x);
    const x0 = spec.xmin ?? Math.min(...xs, 0);
    let x1 = spec.xmax ?? Math.max(...xs, 1);
    if (x1 <= x0) x1 = x0 + 1;
    const ys = series.filter((s) => !s.y2).flatMap((s) => s.y.filter(finite));
    let y0 = spec.ymin ?? (ys.length ? Math.min(...ys) : 0);
    let y1 = spec.ymax ?? (ys.length ? Math.max(...ys) : 1);
    if (spec.log) {
      y0 = Math.floor(Math.log10(ys.length ? Math.min(...ys) : 1e-3));
      y1 = Math.ceil(Math.log10(ys.length ? Math.max(...ys) : 1));
      if (y1 <= y0) y1 = y0 + 1;
    } else {
      if (spec.zero !== false && spec.ymin === undefined) y0 = Math.min(0, y0);
      if (y1 <= y0) y1 = y0 + 1;
      if (spec.ymax === undefined) y1 += 0.04 * (y1 - y0);
    }
    const sx = (x) => m.l + ((x - x0) / (x1 - x0)) * pw;
    const sy = (y) => m.t + ph - (((spec.log ? Math.log10(y) : y) - y0) / (y1 - y0)) * ph;
    const sy2 = (y) => m.t + ph - y * ph;
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillStyle = INK;
    ctx.textAlign = "center";
    titleLines.forEach((line, i) => ctx.fillText(line, width / 2, 15 + 14 * i, width - 8));
    // Grid and ticks.
    ctx.strokeStyle = "#eef1f4";
    ctx.lineWidth = 1;
    ctx.fillStyle = MUTED;
    ctx.font = "10px system-ui, sans-serif";
    ctx.textAlign = "right";
    const yticks = spec.log ? Array.from({ length: y1 - y0 + 1 }, (_, i) => y0 + i).filter((_, i, a) => a.length <= 7 || i % Math.ceil(a.length / 6) === 0) : ticks(y0, y1, 5);
    for (const t of yticks) {
      const y = spec.log ? sy(10 ** t) : sy(t);
      ctx.beginPath();
      ctx.moveTo(m.l, y);
      ctx.lineTo(m.l + pw, y);
      ctx.stroke();
      ctx.fillText(spec.log ? `1e${t}` : short(t), m.l - 4, y + 3);
    }
    ctx.textAlign = "center";
    const xticks = spec.xticks === "integer" ? ticks(x0, x1, Math.min(10, x1 - x0 + 1)).filter(Number.isInteger) : ticks(x0, x1, 6);
    for (const t of xticks) ctx.fillText(short(t), sx(t), m.t + ph + 12);
    if (spec.y2) {
      ctx.textAlign = "left";
      for (const t of [0, 0.25, 0.5, 0.75, 1]) ctx.fillText(`${Math.round(100 * t)}%`, m.l + pw + 4, sy2(t) + 3);
    }
    ctx.strokeStyle = LINE;
    ctx.strokeRect(m.l, m.t, pw, ph);
    // Marks (live changes).
    for (const mark of spec.marks || []) {
      if (mark.x < x0 || mark.x > x1) continue;
      ctx.strokeStyle = "#1a7f37";
      ctx.setLineDash([2, 3]);
      ctx.beginPath();
      ctx.moveTo(sx(mark.x), m.t);
      ctx.lineTo(sx(mark.x), m.t + ph);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = "#1a7f37";
      ctx.textAlign = "left";
      ctx.fillText(mark.text, Math.min(sx(mark.x) + 3, m.l + pw - 60), m.t + 10, 160);
    }
    // Curves, clipped to the plot; a curve of one point is a dot.
    ctx.save();
    ctx.beginPath();
    ctx.rect(m.l, m.t, pw, ph);
    ctx.clip();
    for (const s of series) {
      const y = s.y2 ? sy2 : sy;
      ctx.strokeStyle = s.color;
      ctx.fillStyle = s.color;
      ctx.lineWidth = s.width || 1.6;
      ctx.setLineDash(s.dash === "dash" ? [6, 4] : s.dash === "dot" ? [2, 3] : []);
      ctx.beginPath();
      let open = false;
      s.x.forEach((x, i) => {
        const v = s.y[i];
        if (!finite(v) && !s.y2) {
          open = false;
          return;
        }
        if (v === null || !Number.isFinite(v)) {
          open = false;
          return;
        }
        if (open) ctx.lineTo(sx(x), y(v));
        else ctx.moveTo(sx(x), y(v));
        open = true;
      });
      ctx.stroke();
      ctx.setLineDash([]);
      if (s.markers || s.x.length < 3) {
        s.x.forEach((x, i) => {
          const v = s.y[i];
          if (v === null || !Number.isFinite(v) || (!s.y2 && !finite(v))) return;
          ctx.beginPath();
          ctx.arc(sx(x), y(v), 2.6, 0, 2 * Math.PI);
          ctx.fill();
        });
      }
    }
    ctx.restore();
    if (spec.empty) {
      ctx.fillStyle = MUTED;
      ctx.textAlign = "center";
      ctx.fillText(spec.empty, m.l + pw / 2, m.t + ph / 2, pw - 10);
    }
    // Legend.
    ctx.textAlign = "left";
    ctx.font = "10px system-ui, sans-serif";
    legendRows.forEach((items, r) => {
      const y = height - 14 * (legendRows.length - r) + 4;
      for (const [s, x] of items) {
        ctx.strokeStyle = s.color;
        ctx.lineWidth = 2;
        ctx.setLineDash(s.dash === "dash" ? [5, 3] : s.dash === "dot" ? [2, 2] : []);
        ctx.beginPath();
        ctx.moveTo(x, y - 3);
        ctx.lineTo(x + 20, y - 3);
        ctx.stroke();
        ctx.setLineDash([]);
        ctx.fillStyle = INK;
        ctx.fillText(s.name, x + 24, y);
      }
    });
    canvas.dataset.drawn = String(Number(canvas.dataset.drawn || 0) + 1);
    canvas.dataset.series = JSON.stringify(spec.series.map((s) => s.name));
    canvas.dataset.points = String(Math.max(0, ...spec.series.map((s) => s.x.length)));
    return { sx, x0, x1, m, pw, series: spec.series };
  }

  // The mean-field phase diagram: cells coloured by phase (blue ordered, orange chaotic)
  // and depth scale ξ_c (deeper colour: larger ξ_c, log scale up to XI_TOP), grey where
  // the length grows without bound; the critical line χ₁ = 1, the schemes and the point.
  //   spec: {grid: {sigma_w2, sigma_b2, chi1, xi_c, unbounded}, window: {sigma_w2, sigma_b2},
  //          critical: [{sigma_w2, sigma_b2}], schemes: [{scheme, sigma_w2, sigma_b2, inside}],
  //          point: [σ_w², σ_b²], title}
  // Returns what dragging and hover need: data(x, y) → [σ_w², σ_b²] inside the window,
  // pixel(σ_w², σ_b²) → [x, y], and cell(x, y) → the grid cell under a pixel (or null).
  const XI_TOP = 100;
  const UNBOUNDED = [205, 205, 212];
  const xiNumber = (v) => (v === "inf" ? Infinity : Number(v));
  function phaseColor(chi1, xi, unbounded) {
    if (unbounded) return UNBOUNDED;
    const x = xiNumber(xi);
    const t = x === Infinity ? 1 : Math.max(0, Math.min(1, Math.log10(1 + x) / Math.log10(1 + XI_TOP)));
    return rgb(chi1 > 1 ? -(0.12 + 0.88 * t) : 0.12 + 0.88 * t);
  }

  function phase(canvas, spec) {
    const available = canvas.parentElement.clientWidth || 500;
    const m = { l: 46, r: 12, t: spec.title ? 22 : 8, b: 40 };
    const plot = Math.max(120, Math.min(available - m.l - m.r, 520));
    const legend = 58;
    const width = m.l + plot + m.r;
    const height = m.t + plot + m.b + legend;
    const ctx = sized(canvas, width, height);
    const g = spec.grid;
    const [w0, w1] = spec.window.sigma_w2;
    const [b0, b1] = spec.window.sigma_b2;
    const sx = (w) => m.l + ((w - w0) / (w1 - w0)) * plot;
    const sy = (b) => m.t + plot - ((b - b0) / (b1 - b0)) * plot;
    ctx.font = "11px system-ui, sans-serif";
    if (spec.title) {
      ctx.fillStyle = INK;
      ctx.fillText(spec.title, 4, 14, width - 8);
    }
    const rows = g.chi1.map((row, i) => row.map((chi, j) => [chi, g.xi_c[i][j], g.unbounded[i][j]]));
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(image(rows, ([chi, xi, unbounded]) => phaseColor(chi, xi, unbounded)), m.l, m.t, plot, plot);
    ctx.save();
    ctx.beginPath();
    ctx.rect(m.l, m.t, plot, plot);
    ctx.clip();
    // The critical line χ₁ = 1.
    ctx.strokeStyle = INK;
    ctx.lineWidth = 2.2;
    ctx.beginPath();
    let open = false;
    for (const p of spec.critical) {
      const w = Number(p.sigma_w2);
      if (!Number.isFinite(w)) {
        open = false;
        continue;
      }
      if (open) ctx.lineTo(sx(w), sy(p.sigma_b2));
      else ctx.moveTo(sx(w), sy(p.sigma_b2));
      open = true;
    }
    ctx.stroke();
    // The schemes: one diamond per place, their names beside it (staggered rows).
    const places = new Map();
    for (const s of spec.schemes.filter((s) => s.inside)) {
      const key = `${s.sigma_w2.toPrecision(4)},${s.sigma_b2.toPrecision(4)}`;
      if (!places.has(key)) places.set(key, { w: s.sigma_w2, b: s.sigma_b2, names: [] });
      places.get(key).names.push(s.scheme);
    }
    ctx.font = "10px system-ui, sans-serif";
    [...places.values()]
      .sort((a, b) => a.w - b.w)
      .forEach((place, k) => {
        const x = sx(place.w);
        const y = sy(place.b);
        ctx.fillStyle = "white";
        ctx.strokeStyle = INK;
        ctx.lineWidth = 1.2;
        ctx.beginPath();
        ctx.moveTo(x, y - 6);
        ctx.lineTo(x + 6, y);
        ctx.lineTo(x, y + 6);
        ctx.lineTo(x - 6, y);
        ctx.closePath();
        ctx.fill();
        ctx.stroke();
        const text = place.names.join(", ");
        const tw = ctx.measureText(text).width;
        const tx = Math.max(m.l + 2, Math.min(x + 8, m.l + plot - tw - 4));
        const ty = y - 10 - 13 * (k % 3);
        ctx.fillStyle = "rgba(255,255,255,0.8)";
        ctx.fillRect(tx - 2, ty - 9, tw + 4, 12);
        ctx.fillStyle = INK;
        ctx.fillText(text, tx, ty);
      });
    // The point, with guides to the axes.
    if (spec.point) {
      const [pw, pb] = spec.point;
      const x = sx(Math.max(w0, Math.min(w1, pw)));
      const y = sy(Math.max(b0, Math.min(b1, pb)));
      ctx.strokeStyle = "rgba(31,35,40,0.55)";
      ctx.lineWidth = 1;
      ctx.setLineDash([3, 3]);
      ctx.beginPath();
      ctx.moveTo(x, y);
      ctx.lineTo(x, m.t + plot);
      ctx.moveTo(x, y);
      ctx.lineTo(m.l, y);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = "#d1242f";
      ctx.strokeStyle = "white";
      ctx.lineWidth = 2.5;
      ctx.beginPath();
      ctx.arc(x, y, 7, 0, 2 * Math.PI);
      ctx.fill();
      ctx.stroke();
      ctx.strokeStyle = INK;
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.arc(x, y, 8.5, 0, 2 * Math.PI);
      ctx.stroke();
    }
    ctx.restore();
    // Axes.
    ctx.strokeStyle = LINE;
    ctx.lineWidth = 1;
    ctx.strokeRect(m.l, m.t, plot, plot);
    ctx.font = "10px system-ui, sans-serif";
    ctx.fillStyle = MUTED;
    ctx.textAlign = "center";
    for (const w of ticks(w0, w1, 5)) ctx.fillText(short(w), sx(w), m.t + plot + 12);
    ctx.textAlign = "right";
    for (const b of ticks(b0, b1, 5)) ctx.fillText(short(b), m.l - 4, sy(b) + 3);
    ctx.fillStyle = INK;
    ctx.font = "12px system-ui, sans-serif";
    ctx.textAlign = "center";
    ctx.fillText("σ_w²  (weight variance × width)", m.l + plot / 2, m.t + plot + 28);
    ctx.save();
    ctx.translate(12, m.t + plot / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.fillText("σ_b²  (bias variance)", 0, 0);
    ctx.restore();
    // Legend: ξ_c on each side of the line, and the unbounded grey.
    const top = m.t + plot + m.b;
    const barW = Math.min(170, (plot - 20) / 2);
    ctx.font = "10px system-ui, sans-serif";
    ctx.textAlign = "left";
    const bar = (x, label, sign) => {
      ctx.fillStyle = INK;
      ctx.fillText(label, x, top + 8);
      for (let i = 0; i < barW; i++) {
        const t = i / (barW - 1);
        const xi = Math.pow(1 + XI_TOP, t) - 1;
        ctx.fillStyle = `rgb(${phaseColor(sign > 0 ? 2 : 0, xi, false).join(",")})`;
        ctx.fillRect(x + i, top + 12, 1.5, 10);
      }
      ctx.fillStyle = MUTED;
      for (const [xi, text] of [[0, "0"], [3, "3"], [10, "10"], [XI_TOP, "≥100"]]) {
        const at = x + (Math.log10(1 + xi) / Math.log10(1 + XI_TOP)) * (barW - 1);
        ctx.textAlign = xi === 0 ? "left" : xi === XI_TOP ? "right" : "center";
        ctx.fillText(text, at, top + 33);
      }
      ctx.textAlign = "left";
    };
    bar(m.l, "ordered (χ₁ < 1): ξ_c", -1);
    bar(m.l + barW + 20, "chaotic (χ₁ > 1): ξ_c", 1);
    ctx.fillStyle = `rgb(${UNBOUNDED.join(",")})`;
    ctx.fillRect(m.l, top + 40, 12, 10);
    ctx.fillStyle = INK;
    ctx.fillText("length grows without bound (no q*)   ━ critical line χ₁ = 1   ◇ schemes", m.l + 16, top + 49, plot - 16);
    canvas.dataset.drawn = String(Number(canvas.dataset.drawn || 0) + 1);
    const inside = (x, y) => x >= m.l - 8 && x <= m.l + plot + 8 && y >= m.t - 8 && y <= m.t + plot + 8;
    const clamp = (v) => Math.max(0, Math.min(1, v));
    return {
      inside,
      pixel: (w, b) => [sx(w), sy(b)],
      data(x, y) {
        return [w0 + clamp((x - m.l) / plot) * (w1 - w0), b0 + clamp((m.t + plot - y) / plot) * (b1 - b0)];
      },
      cell(x, y) {
        if (x < m.l || x > m.l + plot || y < m.t || y > m.t + plot) return null;
        const n = g.sigma_b2.length;
        const k = g.sigma_w2.length;
        const j = Math.min(k - 1, Math.floor(((x - m.l) / plot) * k));
        const i = Math.min(n - 1, Math.floor(((m.t + plot - y) / plot) * n));
        return { sigma_w2: g.sigma_w2[j], sigma_b2: g.sigma_b2[i], chi1: g.chi1[i][j], xi_c: xiNumber(g.xi_c[i][j]), unbounded: g.unbounded[i][j] };
      },
    };
  }

  // What the curves of a `lines` chart hold at the x nearest the pointer.
  function lineValues(chart, x) {
    if (!chart) return null;
    const xs = chart.series.find((s) => s.x.length)?.x || [];
    if (!xs.length || x < chart.m.l - 4 || x > chart.m.l + chart.pw + 4) return null;
    const target = chart.x0 + ((x - chart.m.l) / chart.pw) * (chart.x1 - chart.x0);
    let best = 0;
    xs.forEach((v, i) => {
      if (Math.abs(v - target) < Math.abs(xs[best] - target)) best = i;
    });
    const at = xs[best];
    const rows = chart.series
      .map((s) => [s.name, s.y[s.x.indexOf(at)]])
      .filter(([, v]) => v !== undefined && v !== null && Number.isFinite(v))
      .map(([name, v]) => `${name}: ${Number(v.toPrecision(3))}`);
    return { at, rows };
  }

  return { rgb, css, heatmap, histograms, network, hit, decode, lines, lineValues, phase };
})();
