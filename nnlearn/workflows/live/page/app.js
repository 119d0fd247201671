// The live page of `nnlearn watch CONFIG --serve`. It draws the state the server pushes (GET /api/events,
// one `state` event per change; the same object as GET /api/state, described in docs/json.md) and edits
// the config through POST /api/edit (a control's change to the text) and POST /api/config (a save, made
// only when `validate` accepts it). Charts are SVG drawn here; pictures of the plane are small canvases.
"use strict";

const TOKEN = new URLSearchParams(location.search).get("token") || "";
const SVG = "http://www.w3.org/2000/svg";
const CLASS_COLOURS = ["#2b6cb0", "#dd6b20", "#2f855a", "#c53030", "#6b46c1", "#b7791f", "#2c7a7b", "#97266d",
                       "#4a5568", "#744210"];
const LEARNING_RATES = [0.00001, 0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const SAVE_AFTER_CONTROL_MS = 500;  // quick clicks on a control are saved once, after the last
const CONTROLS_AFTER_TYPING_MS = 300;

const page = {
  state: null,
  baseSha: null,        // the version of the file the editor's text started from
  loadedText: null,     // that version's text: the editor is "dirty" when it differs
  controls: null,       // what the controls show (GET /api/state's `controls`, or for the editor's text)
  controlsShown: null,  // the controls' JSON as drawn, so a redraw never steals a control's focus
  markedLines: {error: new Set(), changed: new Set()},
  saveTimer: null,
  controlsTimer: null,
  localErrors: null,    // the errors of a save the page tried and the server refused
};

// ---------------------------------------------------------------- small helpers

function element(tag, attributes = {}, ...children) {
  const made = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "className") made.className = value;
    else if (name === "text") made.textContent = value;
    else if (name.startsWith("on")) made.addEventListener(name.slice(2), value);
    else made.setAttribute(name, value);
  }
  for (const child of children) made.append(child);
  return made;
}

function svgElement(tag, attributes = {}) {
  const made = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) made.setAttribute(name, value);
  return made;
}

function isNumber(value) {
  return typeof value === "number" && Number.isFinite(value);
}

function formatNumber(value) {
  if (!isNumber(value)) return value === undefined || value === null ? "—" : String(value);
  if (value !== 0 && (Math.abs(value) < 1e-3 || Math.abs(value) >= 1e5)) return value.toExponential(2);
  return Number(value.toPrecision(4)).toString();
}

function api(path, body) {
  const options = {headers: {"Authorization": `token ${TOKEN}`}};
  if (body !== undefined) {
    options.method = "POST";
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  return fetch(path, options).then(async (response) => ({status: response.status, body: await response.json()}));
}

// ---------------------------------------------------------------- the pushed state

function connect() {
  const connection = document.getElementById("connection");
  const events = new EventSource(`/api/events?token=${encodeURIComponent(TOKEN)}`);
  events.addEventListener("open", () => {
    connection.textContent = "● live";
    connection.className = "connection";
  });
  events.addEventListener("state", (event) => draw(JSON.parse(event.data)));
  events.addEventListener("closed", () => {
    events.close();
    connection.textContent = "nnlearn has stopped: start it again to go on";
    connection.className = "connection lost";
  });
  events.addEventListener("error", () => {
    connection.textContent = "reconnecting…";
    connection.className = "connection lost";
  });
}

function draw(state) {
  page.state = state;
  drawStatus(state);
  drawEditor(state);
  if (state.config.sha256 === page.baseSha && !editorDirty()) drawControls(state.controls);
  drawProblems(state);
  drawCurves(state);
  drawPicture(state);
  drawResult(state);
}

function drawStatus(state) {
  document.getElementById("config-path").textContent = state.config.path;
  const status = document.getElementById("status");
  status.className = `status ${state.status}`;
  if (state.status === "training") {
    status.textContent = `training · epoch ${state.epoch}/${state.epochs}`;
  } else if (state.status === "invalid") {
    status.textContent = `the saved config has ${plural(state.errors.length, "problem")}`;
  } else {
    status.textContent = state.run_dir ? "waiting for a save" : "starting…";
  }
}

function plural(count, word) {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

// ---------------------------------------------------------------- the editor

function editorDirty() {
  return document.getElementById("editor").value !== page.loadedText;
}

function drawEditor(state) {
  const config = state.config;
  if (config.sha256 === null || config.sha256 === page.baseSha) return;
  if (page.loadedText === null || !editorDirty()) {
    setEditorText(config.text, config.sha256);
  } else {
    setNote("save-note", "the file changed on disk while you were editing here: Save will ask which to keep");
  }
}

function setEditorText(text, sha) {
  const editor = document.getElementById("editor");
  const scroll = editor.scrollTop;
  if (editor.value !== text) editor.value = text;
  editor.scrollTop = scroll;
  page.loadedText = text;
  page.baseSha = sha;
  drawGutter();
  document.getElementById("save").disabled = true;
  document.getElementById("reload").hidden = true;
}

function drawGutter() {
  const editor = document.getElementById("editor");
  const gutter = document.getElementById("gutter");
  const count = editor.value.split("\n").length;
  gutter.replaceChildren();
  for (let line = 1; line <= count; line++) {
    const mark = page.markedLines.error.has(line) ? "error" : page.markedLines.changed.has(line) ? "changed" : "";
    gutter.append(element("span", {className: mark, text: String(line)}));
  }
  gutter.scrollTop = editor.scrollTop;
}

function markLines(kind, lines) {
  page.markedLines[kind] = new Set(lines.filter(isNumber));
  drawGutter();
}

function goToLine(line) {
  const editor = document.getElementById("editor");
  const lines = editor.value.split("\n");
  const start = lines.slice(0, line - 1).reduce((total, text) => total + text.length + 1, 0);
  editor.focus();
  editor.setSelectionRange(start, start + (lines[line - 1] || "").length);
  editor.scrollTop = Math.max(0, (line - 5) * 18);
}

function setNote(id, text, className = "note") {
  const note = document.getElementById(id);
  note.textContent = text;
  note.className = className;
}

async function save() {
  clearTimeout(page.saveTimer);
  const editor = document.getElementById("editor");
  const text = editor.value;
  setNote("save-note", "checking…");
  const answer = await api("/api/config", {text, base: page.baseSha});
  if (answer.status === 200) {
    page.localErrors = null;
    page.loadedText = text;
    page.baseSha = answer.body.sha256;
    document.getElementById("save").disabled = true;
    setNote("save-note", "saved: the watcher retrains on it");
  } else if (answer.status === 409) {
    setNote("save-note", "not saved: the file changed on disk since this page loaded it");
    document.getElementById("reload").hidden = false;
    page.fileText = answer.body.text;
  } else {
    page.localErrors = answer.body.errors || [];
    setNote("save-note", `not saved: ${plural(page.localErrors.length, "problem")}; the file is as it was`);
  }
  drawProblems(page.state);
}

function statusEvents() {  // the status "the saved config has N problems" leads to them
  document.getElementById("status").addEventListener("click", () => {
    if (page.state && page.state.status === "invalid") document.getElementById("problems").scrollIntoView();
  });
}

function curveEvents() {
  document.getElementById("metric-choice").addEventListener("change", () => {
    if (page.state) drawCurves(page.state);
  });
}

function editorEvents() {
  const editor = document.getElementById("editor");
  editor.addEventListener("input", () => {
    document.getElementById("save").disabled = !editorDirty();
    markLines("changed", []);
    clearTimeout(page.controlsTimer);  // the controls follow the text typed, once the typing pauses
    page.controlsTimer = setTimeout(refreshControls, CONTROLS_AFTER_TYPING_MS);
  });
  editor.addEventListener("scroll", () => {
    document.getElementById("gutter").scrollTop = editor.scrollTop;
  });
  editor.addEventListener("keydown", (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key === "s") {
      event.preventDefault();
      save();
    } else if (event.key === "Tab" && !event.shiftKey) {
      event.preventDefault();  // YAML indents with spaces
      editor.setRangeText("  ", editor.selectionStart, editor.selectionEnd, "end");
      editor.dispatchEvent(new Event("input"));
    }
  });
  document.getElementById("save").addEventListener("click", save);
  document.getElementById("reload").addEventListener("click", () => {
    if (page.state) setEditorText(page.fileText ?? page.state.config.text, null);
    page.localErrors = null;
    setNote("save-note", "loaded the file's version");
    api("/api/state").then((answer) => draw(answer.body));
  });
}

// ---------------------------------------------------------------- the controls

async function refreshControls() {  // what the controls show for the editor's text, asked of the server
  clearTimeout(page.controlsTimer);
  page.controlsTimer = null;
  const answer = await api("/api/edit", {text: document.getElementById("editor").value});
  if (answer.status === 200) drawControls(answer.body.controls);
}

function drawControls(controls) {
  page.controls = controls;
  const shown = JSON.stringify(controls);
  if (shown === page.controlsShown) return;
  page.controlsShown = shown;
  const box = document.getElementById("controls");
  box.replaceChildren();
  if (!controls) {
    box.append(element("p", {className: "empty", text: "the controls come back when the text can be read"}));
    return;
  }
  box.append(learningRateControl(controls.learning_rate), epochsControl(controls.epochs));
  for (const layer of controls.layers) box.append(layerControl(layer, controls.activations));
  const hidden = controls.layers.filter((layer) => layer.hidden).length;
  box.append(element("div", {className: "control"},
    element("button", {type: "button", id: "add-layer", text: "+ hidden layer",
                       onclick: () => edit({add_layer: true})}),
    element("span", {className: "dim", text: `${plural(hidden, "hidden layer")}`})));
}

function valueControl(setting, label, input) {
  const row = element("div", {className: setting.set_by_option ? "control set-by-option" : "control"},
    element("label", {text: label}), input);
  const where = setting.set_by_option ? "given by --set: the file's value is not used"
    : setting.line ? `line ${setting.line}` : "not in the file: the default";
  row.append(element("span", {className: "dim", text: where}));
  input.disabled = setting.set_by_option;
  return row;
}

function learningRateControl(setting) {
  const rates = LEARNING_RATES.includes(setting.value) ? LEARNING_RATES
    : [...LEARNING_RATES, setting.value].sort((a, b) => a - b);
  const select = element("select", {id: "learning-rate", "aria-label": "learning rate",
                                    onchange: (event) => edit({set: setting.key, value: Number(event.target.value)})});
  for (const rate of rates) select.append(element("option", {value: String(rate), text: String(rate)}));
  select.value = String(setting.value);
  return valueControl(setting, "learning rate", select);
}

function epochsControl(setting) {
  const input = element("input", {id: "epochs", type: "number", min: "1", step: "1", value: String(setting.value),
                                  "aria-label": "epochs"});
  input.addEventListener("change", () => {
    const epochs = Math.round(Number(input.value));
    if (epochs >= 1) edit({set: setting.key, value: epochs});
  });
  return valueControl(setting, "epochs", input);
}

function layerControl(layer, activations) {
  if (!layer.hidden) {
    const what = layer.index === page.state?.controls?.layers.length - 1 ? "output" : `layer ${layer.index}`;
    const detail = layer.units ? `${layer.type}, ${plural(layer.units, "unit")}, ${layer.activation}` : layer.type;
    return element("div", {className: "control layer fixed"}, element("label", {text: what}),
                   element("span", {text: detail}));
  }
  const key = `model.layers[${layer.index}]`;
  const units = element("span", {className: "units-value", text: String(layer.units)});
  const activation = element("select", {"aria-label": `layer ${layer.index} activation`,
                                        onchange: (event) => edit({set: `${key}.activation`, value: event.target.value})});
  for (const name of activations) activation.append(element("option", {value: name, text: name}));
  activation.value = layer.activation;
  const change = (step) => () => edit((controls) => {  // from the units the text has when clicked
    const now = controls.layers.find((shown) => shown.index === layer.index);
    return {set: `${key}.units`, value: Math.max(1, (Number.isInteger(now?.units) ? now.units : 1) + step)};
  });
  return element("div", {className: "control layer", "data-layer": String(layer.index)},
    element("label", {text: `layer ${layer.index}`}),
    element("button", {type: "button", className: "small", title: "one unit fewer", text: "−",
                       "aria-label": `layer ${layer.index} fewer units`, onclick: change(-1)}),
    units,
    element("button", {type: "button", className: "small", title: "one unit more", text: "+",
                       "aria-label": `layer ${layer.index} more units`, onclick: change(1)}),
    element("span", {className: "dim", text: "units"}),
    activation,
    element("button", {type: "button", className: "small", title: "remove this layer", text: "×",
                       "aria-label": `remove layer ${layer.index}`,
                       onclick: () => edit({remove_layer: layer.index})}));
}

async function edit(making) {
  // making: the edit, or a function of the controls that makes it (a step from the value they show)
  if (page.controlsTimer) await refreshControls();  // typed text the controls have not caught up with
  if (typeof making === "function" && !page.controls) return;
  const change = typeof making === "function" ? making(page.controls) : making;
  const editor = document.getElementById("editor");
  const answer = await api("/api/edit", {text: editor.value, edit: change});
  if (answer.status !== 200) {
    setNote("control-note", answer.body.errors.map((error) => error.message).join(" "), "note");
    return;
  }
  editor.value = answer.body.text;
  markLines("changed", [answer.body.line]);
  setNote("control-note", `line ${answer.body.line}: ${answer.body.description}`, "note changed");
  drawControls(answer.body.controls);
  document.getElementById("save").disabled = !editorDirty();
  clearTimeout(page.saveTimer);
  page.saveTimer = setTimeout(save, SAVE_AFTER_CONTROL_MS);
}

// ---------------------------------------------------------------- problems: refused saves and the file's errors

function drawProblems(state) {
  const box = document.getElementById("problems");
  box.replaceChildren();
  const refused = page.localErrors;
  const errors = refused || (state && state.status === "invalid" ? state.errors : []);
  markLines("error", errors.map((error) => error.line));
  if (errors.length) {
    const heading = refused ? `Not saved (${plural(errors.length, "problem")}); the file is as it was:`
      : `The saved file has ${plural(errors.length, "problem")}; the last good run stays on screen:`;
    box.append(problemList(heading, errors, "problems"));
  }
  const warnings = (state && state.warnings) || [];
  if (warnings.length && !refused) box.append(problemList("Warnings about the config:", warnings, "problems warnings"));
}

function problemList(heading, problems, className) {
  const list = element("ul");
  for (const problem of problems) {
    const item = element("li");
    if (isNumber(problem.line)) {
      item.append(element("a", {text: `line ${problem.line}`, onclick: () => goToLine(problem.line)}), " ");
    }
    if (problem.path) item.append(element("code", {text: problem.path}), ": ");
    item.append(problem.message);
    list.append(item);
  }
  return element("div", {className}, element("p", {text: heading}), list);
}

// ---------------------------------------------------------------- curves

function metricNames(state) {
  const names = new Set();
  for (const history of [state.history, ...state.runs.map((run) => run.history)]) {
    for (const name of Object.keys(history)) if (!name.startsWith("val_") && name !== "loss") names.add(name);
  }
  return [...names];
}

function chosenMetric(names) {
  // the loss and one metric are drawn: the learner's choice, else the key one (accuracy, r2), else the first
  const choice = document.getElementById("metric-choice");
  const shown = names.join(" ");
  if (choice.dataset.names !== shown) {
    const previous = choice.value;
    choice.replaceChildren(...names.map((name) => element("option", {value: name, text: name})));
    choice.dataset.names = shown;
    choice.value = names.includes(previous) ? previous : ["accuracy", "r2"].find((name) => names.includes(name))
      || names[0] || "";
  }
  document.getElementById("metric-choice-label").hidden = names.length < 2;
  return choice.value;
}

function drawCurves(state) {
  const box = document.getElementById("curves");
  const names = ["loss", chosenMetric(metricNames(state))].filter(Boolean);
  box.replaceChildren();
  if (!Object.keys(state.history).length && !state.runs.some((run) => Object.keys(run.history).length)) {
    box.append(element("p", {className: "empty", text: "the curves appear as the first epochs end"}));
    return;
  }
  for (const name of names) box.append(curveChart(state, name));
  const legend = document.getElementById("curves-legend");
  legend.replaceChildren("per epoch:", element("span", {className: "swatch training"}), "training",
                         element("span", {className: "swatch validation"}), "validation");
  if (state.runs.length > 1) legend.append(element("span", {className: "swatch earlier"}), "earlier runs of this session");
}

function curveChart(state, name) {
  const series = [];
  for (const run of state.runs) {
    const current = run.run_dir === state.run_dir;
    for (const [key, kind] of [[name, "training"], [`val_${name}`, "validation"]]) {
      const values = (current ? state.history : run.history)[key];
      if (values && values.length) series.push({values, className: `${kind} ${current ? "current" : "earlier"}`});
    }
  }
  series.sort((a, b) => a.className.includes("current") - b.className.includes("current"));  // current on top
  const longest = Math.max(state.epochs || 0, ...series.map((line) => line.values.length));
  const title = name === "loss" ? "loss (the cost J)" : name;
  return lineChart({title, series, epochs: Math.max(longest, 2), logScale: name === "loss" && spansDecades(series)});
}

function spansDecades(series) {
  const values = series.flatMap((line) => line.values).filter((value) => isNumber(value) && value > 0);
  return values.length > 0 && Math.max(...values) > 100 * Math.min(...values);
}

function niceTicks(low, high, count) {
  const span = high - low || Math.abs(high) || 1;
  const step0 = span / count;
  const magnitude = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((factor) => factor * magnitude).find((candidate) => candidate >= step0);
  const ticks = [];
  for (let tick = Math.ceil(low / step) * step; tick <= high + step * 1e-9; tick += step) ticks.push(Number(tick.toPrecision(12)));
  return ticks;
}

function lineChart({title, series, epochs, logScale}) {
  const width = 420, height = 220, left = 48, right = 12, top = 24, bottom = 30;
  const chart = svgElement("svg", {viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img",
                                   "aria-label": `${title} per epoch`, "data-name": title});
  const shown = (value) => isNumber(value) && (!logScale || value > 0);
  const values = series.flatMap((line) => line.values).filter(shown);
  let low = values.length ? Math.min(...values) : 0;
  let high = values.length ? Math.max(...values) : 1;
  if (logScale) { low = Math.log10(low); high = Math.log10(high); }
  if (high - low < 1e-12) { high += 0.5; low -= 0.5; }
  const pad = (high - low) * 0.05;
  low -= pad; high += pad;
  const x = (epoch) => left + ((epoch - 1) / Math.max(epochs - 1, 1)) * (width - left - right);
  const y = (value) => top + (1 - ((logScale ? Math.log10(value) : value) - low) / (high - low)) * (height - top - bottom);

  chart.append(svgElement("text", {x: left, y: 14, class: "title"}));
  chart.lastChild.textContent = logScale ? `${title}, log scale` : title;
  const yTicks = logScale ? niceTicks(Math.ceil(low), Math.floor(high), 4).filter(Number.isInteger).map((power) => 10 ** power)
    : niceTicks(low, high, 4);
  for (const tick of yTicks) {
    chart.append(svgElement("line", {x1: left, x2: width - right, y1: y(tick), y2: y(tick), class: "grid"}));
    const label = svgElement("text", {x: left - 5, y: y(tick) + 4, "text-anchor": "end"});
    label.textContent = formatNumber(tick);
    chart.append(label);
  }
  for (const tick of niceTicks(1, epochs, 5).filter((epoch) => epoch >= 1 && Number.isInteger(epoch))) {
    const label = svgElement("text", {x: x(tick), y: height - bottom + 14, "text-anchor": "middle"});
    label.textContent = String(tick);
    chart.append(label);
  }
  const axisLabel = svgElement("text", {x: width - right, y: height - 4, "text-anchor": "end"});
  axisLabel.textContent = "epoch";
  chart.append(axisLabel);
  chart.append(svgElement("line", {x1: left, x2: left, y1: top, y2: height - bottom, class: "axis"}));
  chart.append(svgElement("line", {x1: left, x2: width - right, y1: height - bottom, y2: height - bottom, class: "axis"}));
  for (const line of series) {
    const points = line.values.map((value, index) => (shown(value) ? `${x(index + 1).toFixed(1)},${y(value).toFixed(1)}` : null))
      .filter((point) => point !== null);
    if (points.length === 1) points.push(points[0]);  // one epoch: a dot
    chart.append(svgElement("polyline", {points: points.join(" "), class: `curve ${line.className}`,
                                         "data-points": String(points.length)}));
  }
  return chart;
}

// ---------------------------------------------------------------- pictures of the model

function mix(from, to, share) {
  return from.map((channel, index) => Math.round(channel + (to[index] - channel) * share));
}

const BLUE = [43, 108, 176], ORANGE = [221, 107, 32], WHITE = [247, 247, 247];

function diverging(share) {  // 0 blue, 0.5 white, 1 orange
  const clipped = Math.min(1, Math.max(0, share));
  return clipped < 0.5 ? mix(BLUE, WHITE, clipped * 2) : mix(WHITE, ORANGE, (clipped - 0.5) * 2);
}

function hexColour(hex) {
  return [1, 3, 5].map((start) => parseInt(hex.slice(start, start + 2), 16));
}

function heatmap(rows, colourOf) {  // rows from the lowest y up; a data: URL of a small image
  const size = rows.length;
  const canvas = document.createElement("canvas");
  canvas.width = size;
  canvas.height = size;
  const context = canvas.getContext("2d");
  const image = context.createImageData(size, size);
  rows.forEach((row, rowIndex) => row.forEach((value, column) => {
    const at = ((size - 1 - rowIndex) * size + column) * 4;
    const [red, green, blue] = colourOf(value, rowIndex, column);
    image.data.set([red, green, blue, 255], at);
  }));
  context.putImageData(image, 0, 0);
  return canvas.toDataURL();
}

function drawPicture(state) {
  const picture = state.picture;
  const key = picture ? `${state.run_dir} ${picture.epoch} ${picture.error || ""}` : `none ${state.run_dir}`;
  if (key === page.pictureShown) return;
  page.pictureShown = key;
  const box = document.getElementById("picture");
  const title = document.getElementById("picture-title");
  box.replaceChildren();
  document.getElementById("units").replaceChildren();
  document.getElementById("units-title").textContent = "";
  document.getElementById("units-legend").textContent = "";
  if (!picture) {
    title.textContent = "The model";
    const why = state.failure ? "no epoch of this run ended well: there are no weights to draw"
      : state.status === "training" || !state.run_dir ? "the picture appears when the first epoch ends"
        : "pictures are drawn for classifiers of two features and for regression";
    box.append(element("p", {className: "empty", text: why}));
    return;
  }
  if (picture.error) {
    title.textContent = "The model";
    box.append(element("p", {className: "empty", text: picture.error}));
    return;
  }
  if (picture.x_range) {
    title.textContent = `${picture.truth ? "Predicted value over the plane" : "Decision boundary"}, after epoch ${picture.epoch}`;
    box.append(planeChart(picture));
    drawUnits(picture);
  }
  if (picture.truth) {
    if (!picture.x_range) title.textContent = `Predicted against true (${picture.split} rows), after epoch ${picture.epoch}`;
    box.append(truthChart(picture));
  }
}

function planeColour(picture) {  // the background is paler than the points drawn on it
  const pale = (colour) => mix(WHITE, colour, 0.6);
  if (picture.probability) return (value) => pale(diverging(value));
  if (picture.classes) {
    return (value, row, column) => mix(WHITE, hexColour(CLASS_COLOURS[picture.classes[row][column] % 10]),
                                       0.15 + 0.45 * picture.confidence[row][column]);
  }
  const all = picture.value.flat();
  const low = Math.min(...all), high = Math.max(...all);
  return (value) => pale(diverging((value - low) / (high - low || 1)));
}

function contour(rows, level) {
  // Marching squares: the segments where the grid crosses level, in grid units (column, row from the bottom).
  const segments = [];
  const cross = (a, b, from, to) => {
    const share = (level - a) / (b - a);
    return [from[0] + (to[0] - from[0]) * share, from[1] + (to[1] - from[1]) * share];
  };
  for (let row = 0; row + 1 < rows.length; row++) {
    for (let column = 0; column + 1 < rows[row].length; column++) {
      const corners = [[column, row], [column + 1, row], [column + 1, row + 1], [column, row + 1]];
      const values = [rows[row][column], rows[row][column + 1], rows[row + 1][column + 1], rows[row + 1][column]];
      const points = [];
      for (let side = 0; side < 4; side++) {
        const a = values[side], b = values[(side + 1) % 4];
        if ((a < level) !== (b < level)) points.push(cross(a, b, corners[side], corners[(side + 1) % 4]));
      }
      for (let index = 0; index + 1 < points.length; index += 2) segments.push([points[index], points[index + 1]]);
    }
  }
  return segments;
}

function planeChart(picture) {
  const size = 300, left = 36, bottom = 30, top = 8, right = 8;
  const chart = svgElement("svg", {viewBox: `0 0 ${size + left + right} ${size + top + bottom}`, class: "chart",
                                   role: "img", "aria-label": "the model's answer over the plane", id: "boundary"});
  const background = picture.probability || picture.value || picture.confidence;
  const steps = picture.steps - 1, cell = size / steps;  // a grid value is the colour of the cell around it
  const clip = svgElement("clipPath", {id: "plane-clip"});
  clip.append(svgElement("rect", {x: left, y: top, width: size, height: size}));
  chart.append(clip, svgElement("image", {x: left - cell / 2, y: top - cell / 2, width: size + cell, height: size + cell,
                                          preserveAspectRatio: "none", "clip-path": "url(#plane-clip)",
                                          href: heatmap(background, planeColour(picture))}));
  const gridX = (column) => left + (column / steps) * size, gridY = (row) => top + (1 - row / steps) * size;
  if (picture.probability) {  // the decision boundary itself: P = 0.5
    const path = contour(picture.probability, 0.5).map(([[x0, y0], [x1, y1]]) =>
      `M${gridX(x0).toFixed(1)},${gridY(y0).toFixed(1)}L${gridX(x1).toFixed(1)},${gridY(y1).toFixed(1)}`).join("");
    chart.append(svgElement("path", {d: path, class: "boundary"}));
  }
  const [x0, x1] = picture.x_range, [y0, y1] = picture.y_range;
  const x = (value) => left + ((value - x0) / (x1 - x0)) * size;
  const y = (value) => top + (1 - (value - y0) / (y1 - y0)) * size;
  const labels = picture.points.map((point) => point[2]);
  const low = Math.min(...labels), high = Math.max(...labels);
  for (const [px, py, label] of picture.points) {
    const colour = picture.value ? `rgb(${diverging((label - low) / (high - low || 1)).join(",")})`
      : CLASS_COLOURS[label % 10];
    chart.append(svgElement("circle", {cx: x(px).toFixed(1), cy: y(py).toFixed(1), r: 3, fill: colour,
                                       stroke: "#ffffff", "stroke-width": 0.8}));
  }
  const xLabel = svgElement("text", {x: left + size / 2, y: size + top + 22, "text-anchor": "middle"});
  xLabel.textContent = picture.features[0];
  const yLabel = svgElement("text", {x: 14, y: top + size / 2, "text-anchor": "middle",
                                     transform: `rotate(-90 14 ${top + size / 2})`});
  yLabel.textContent = picture.features[1];
  chart.append(xLabel, yLabel, svgElement("rect", {x: left, y: top, width: size, height: size, fill: "none",
                                                   class: "axis"}));
  const wrapper = element("div");
  wrapper.append(chart, planeLegend(picture));
  return wrapper;
}

function planeLegend(picture) {
  const legend = element("p", {className: "legend"});
  const names = picture.class_names;
  if (picture.probability) {
    legend.append(`the line: P(${names[1] ?? "1"}) = 0.5, the decision boundary; colour: P from 0 (blue) to 1 `
                  + "(orange); points: training rows, coloured by class");
  } else if (picture.classes) {
    legend.append("colour: the predicted class, paler where the model is less sure; points: training rows:");
    names.forEach((name, index) => {
      const swatch = element("span", {className: "swatch"});
      swatch.style.borderColor = CLASS_COLOURS[index % 10];
      legend.append(swatch, name);
    });
  } else {
    legend.append("colour: the predicted value, blue low → orange high; points: training rows, coloured the same way");
  }
  return legend;
}

function drawUnits(picture) {
  const box = document.getElementById("units");
  const title = document.getElementById("units-title");
  const legend = document.getElementById("units-legend");
  if (!picture.units || !picture.units.length) {
    title.textContent = "No hidden layer: the output unit's picture is the one beside";
    return;
  }
  title.textContent = `Each unit of the first hidden layer (layer ${picture.units[0].layer}), over the same plane`;
  for (const unit of picture.units) {
    const all = unit.values.flat();
    const largest = Math.max(...all.map(Math.abs)) || 1;
    const image = element("img", {alt: `unit ${unit.unit + 1}`,
                                  src: heatmap(unit.values, (value) => diverging(0.5 + value / (2 * largest)))});
    box.append(element("figure", {className: "unit", title: `unit ${unit.unit + 1}, ${unit.activation}`}, image,
                       element("figcaption", {text: String(unit.unit + 1)})));
  }
  legend.textContent = `${picture.units[0].activation} units; blue below 0, white 0, orange above 0, each on its own scale`;
}

function truthChart(picture) {
  const size = 260, left = 48, bottom = 32, top = 8, right = 10;
  const chart = svgElement("svg", {viewBox: `0 0 ${size + left + right} ${size + top + bottom}`, class: "chart",
                                   role: "img", "aria-label": "predicted against true", id: "truth"});
  const all = [...picture.truth, ...picture.predicted].filter(isNumber);
  let low = Math.min(...all), high = Math.max(...all);
  if (high - low < 1e-12) { high += 1; low -= 1; }
  const scale = (value) => (value - low) / (high - low) * size;
  chart.append(svgElement("line", {x1: left, y1: top + size, x2: left + size, y2: top, class: "perfect"}));
  picture.truth.forEach((truth, index) => {
    chart.append(svgElement("circle", {cx: (left + scale(truth)).toFixed(1), cy: (top + size - scale(picture.predicted[index])).toFixed(1),
                                       r: 2.5, fill: "#2b6cb0", "fill-opacity": 0.6}));
  });
  for (const tick of niceTicks(low, high, 4)) {
    const xLabel = svgElement("text", {x: left + scale(tick), y: top + size + 14, "text-anchor": "middle"});
    xLabel.textContent = formatNumber(tick);
    const yLabel = svgElement("text", {x: left - 4, y: top + size - scale(tick) + 4, "text-anchor": "end"});
    yLabel.textContent = formatNumber(tick);
    chart.append(xLabel, yLabel);
  }
  const caption = svgElement("text", {x: left + size / 2, y: top + size + 30, "text-anchor": "middle"});
  caption.textContent = "true value (dashed: predicted = true)";
  const side = svgElement("text", {x: 12, y: top + size / 2, "text-anchor": "middle",
                                   transform: `rotate(-90 12 ${top + size / 2})`});
  side.textContent = "predicted value";
  chart.append(caption, side, svgElement("rect", {x: left, y: top, width: size, height: size, fill: "none",
                                                  class: "axis"}));
  const wrapper = element("div");
  wrapper.append(element("h3", {text: `Predicted against true, on the ${picture.split} rows`}), chart);
  return wrapper;
}

// ---------------------------------------------------------------- the end of a run

function drawResult(state) {
  const failure = document.getElementById("failure");
  failure.replaceChildren();
  if (state.failure) {
    failure.append(element("div", {className: "failure"},
      ...state.failure.problems.map((problem) => element("p", {text: problem.message}))));
  }
  const verdictBox = document.getElementById("verdict");
  verdictBox.replaceChildren();
  const verdict = state.verdict;
  if (verdict) {
    const parts = [element("p", {className: "title", text: verdict.title}), element("p", {text: verdict.evidence}),
                   element("p", {text: `Next: ${verdict.next_step}`})];
    if (verdict.command) parts.push(element("code", {text: verdict.command}));
    verdictBox.append(element("div", {className: `verdict ${verdict.kind}`, id: "verdict-box"}, ...parts));
  } else if (state.status === "training") {
    verdictBox.append(element("p", {className: "empty", text: "the verdict comes when this run ends"}));
  }
  drawMetrics(state);
  drawChanges(state);
  drawRuns(state);
}

function drawMetrics(state) {
  const box = document.getElementById("metrics");
  box.replaceChildren();
  if (!state.test) return;
  const table = element("table", {className: "metrics"},
    element("tr", {}, element("th", {text: "test split"}), element("th", {text: "this run"}),
            element("th", {text: "no learning"})));
  for (const [name, value] of Object.entries(state.test)) {
    const baseline = state.baseline ? state.baseline[name] : undefined;
    table.append(element("tr", {}, element("td", {text: name}), element("td", {text: formatNumber(value)}),
                         element("td", {className: "baseline", text: formatNumber(baseline)})));
  }
  box.append(table);
}

function drawChanges(state) {
  const box = document.getElementById("changes");
  box.replaceChildren();
  if (!state.runs.length) return;
  const current = state.runs[state.runs.length - 1];
  const changes = current.changes || [];
  const list = element("ul");
  for (const change of changes) {
    list.append(element("li", {}, element("code", {text: change.key}),
                        `: ${JSON.stringify(change.before)} → ${JSON.stringify(change.after)}`));
  }
  const heading = state.runs.length === 1 ? "The first run of this session."
    : changes.length ? "What the save before this run changed:" : "The save before this run changed no value.";
  box.append(element("div", {className: "changes"}, element("p", {text: heading}), list));
}

function drawRuns(state) {
  const list = document.getElementById("runs");
  list.replaceChildren();
  for (const run of state.runs) {
    const name = run.run_dir.split(/[\\/]/).pop();
    const names = run.test ? Object.keys(run.test).filter((metric) => metric !== "loss") : [];
    const key = ["accuracy", "r2"].find((metric) => names.includes(metric)) || names[0];
    const score = key ? [key, run.test[key]] : null;
    const said = run.status === "finished" ? (score ? `test ${score[0]} ${formatNumber(score[1])}` : "finished")
      : run.status;
    list.append(element("li", {className: run.run_dir === state.run_dir ? "current" : ""},
                        element("code", {text: name}), " ", element("span", {className: run.status, text: said})));
  }
}

// ---------------------------------------------------------------- start

editorEvents();
curveEvents();
statusEvents();
api("/api/state").then((answer) => draw(answer.body)).finally(connect);
