// The job selector page: plain JavaScript, no build step, no library. Every text from the cluster is set with
// textContent (never parsed as HTML). The server filters, sorts and pages; the page shows one page of rows and
// applies the live events (server-sent, batched) to it.
"use strict";

const STATUSES = ["SUBMITTED", "BLOCKED", "PENDING", "RUNNING", "CANCELED", "FAILED", "COMPLETED", "SKIPPED", "ABANDONED"];
const SETTINGS = { show_id: true, show_submitted_label: true, show_submitted_id: false, show_submission_id: false, show_date: true };
const PAGE = 100;
const $ = (id) => document.getElementById(id);

const state = {
  csrf: "", session: null, settings: {}, filters: {}, statuses: new Set(), sort: "-created", offset: 0,
  rows: [], byKey: new Map(), matched: 0, total: 0, selected: new Map(), details: null, submission: null,
  refreshTimer: null, lastRefresh: 0, inflight: false, again: false,
};
// Figures the tests and the benchmark read: events applied, batches received, refreshes, last render time.
window.taipodStats = { events: 0, batches: 0, refreshes: 0, renderMs: 0, firstRows: null };

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}
const svg = (tag, attrs, text) => {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
};
const chip = (status) => el("span", { class: `chip st-${status}`, text: status });
const when = (iso) => (iso ? new Date(iso).toLocaleString() : "");
function seconds(value) {
  if (value === null || value === undefined) return "—";
  const s = Math.max(0, value);
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = Math.floor(s % 60);
  return `${h}:${String(m).padStart(2, "0")}:${String(r).padStart(2, "0")}`;
}

async function api(path, options) {
  const init = Object.assign({ headers: {}, credentials: "same-origin" }, options || {});
  if (init.method && init.method !== "GET") {
    init.headers["Content-Type"] = "application/json";
    init.headers["X-CSRF-Token"] = state.csrf;
  }
  const response = await fetch(path, init);
  let body = {};
  try { body = await response.json(); } catch (e) { body = { message: `HTTP ${response.status}` }; }
  if (!response.ok) throw Object.assign(new Error(body.message || `HTTP ${response.status}`), { status: response.status });
  return body;
}

function showError(error) {
  const box = $("error");
  if (!error) { box.hidden = true; box.textContent = ""; return; }
  box.hidden = false;
  box.textContent = error.status ? `${error.status}: ${error.message}` : String(error.message || error);
}

function say(results) {
  const box = $("messages");
  box.textContent = "";
  for (const r of results) {
    const prefix = r.httpStatus && r.httpStatus >= 400 ? `${r.httpStatus} ` : "";
    box.append(el("p", { class: r.ok ? "good" : "bad", text: `${r.id}: ${prefix}${r.message}` }));
  }
}

// -- settings (Taipy's show_* flags): query parameters win, then what the browser remembers, then Taipy's defaults --
function loadSettings() {
  const params = new URLSearchParams(location.search);
  let stored = {};
  try { stored = JSON.parse(localStorage.getItem("taipod-ui-settings") || "{}"); } catch (e) { stored = {}; }
  for (const [name, fallback] of Object.entries(SETTINGS)) {
    let value = name in stored ? Boolean(stored[name]) : fallback;
    if (params.has(name)) value = !["false", "0", "no", "off"].includes(params.get(name).toLowerCase());
    state.settings[name] = value;
  }
  for (const box of document.querySelectorAll("[data-setting]")) {
    box.checked = state.settings[box.dataset.setting];
    box.addEventListener("change", () => {
      state.settings[box.dataset.setting] = box.checked;
      localStorage.setItem("taipod-ui-settings", JSON.stringify(state.settings));
      applyColumns();
      render();
    });
  }
  applyColumns();
}
function applyColumns() {
  const hidden = {
    id: !state.settings.show_id,
    submitted: !state.settings.show_submitted_label && !state.settings.show_submitted_id,
    submission: !state.settings.show_submission_id,
    created: !state.settings.show_date,
  };
  for (const cell of document.querySelectorAll("thead [data-col]")) cell.hidden = Boolean(hidden[cell.dataset.col]);
  state.hiddenColumns = hidden;
}

// -- the query -----------------------------------------------------------------------------------------------------
function queryString() {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(state.filters)) if (value) params.set(name, value);
  if (state.statuses.size) params.set("status", [...state.statuses].join(","));
  params.set("sort", state.sort);
  params.set("offset", String(state.offset));
  params.set("limit", String(PAGE));
  return params.toString();
}

async function refresh() {
  if (state.inflight) { state.again = true; return; }
  state.inflight = true;
  try {
    const page = await api(`api/jobs?${queryString()}`);
    state.rows = page.rows; state.matched = page.matched; state.total = page.total; state.offset = page.offset;
    state.byKey = new Map(page.rows.map((r) => [r.key, r]));
    for (const r of page.rows) if (state.selected.has(r.key)) state.selected.set(r.key, r);
    showError(page.error);
    render();
    window.taipodStats.refreshes += 1;
    if (window.taipodStats.firstRows === null && page.rows.length) window.taipodStats.firstRows = performance.now();
  } catch (error) {
    showError(error);
  } finally {
    state.inflight = false;
    state.lastRefresh = performance.now();
    if (state.again) { state.again = false; scheduleRefresh(); }
  }
}
function scheduleRefresh() {
  if (state.refreshTimer) return;
  const wait = Math.max(50, 400 - (performance.now() - state.lastRefresh));
  state.refreshTimer = setTimeout(() => { state.refreshTimer = null; refresh(); }, wait);
}

// -- the table -----------------------------------------------------------------------------------------------------
function cell(col, ...children) {
  const td = el("td", { "data-col": col }, ...children);
  if (state.hiddenColumns[col]) td.hidden = true;
  return td;
}
function rowElement(r) {
  const box = el("input", { type: "checkbox", "data-role": "select", "aria-label": `Select job ${r.id}` });
  box.checked = state.selected.has(r.key);
  box.addEventListener("change", () => {
    if (box.checked) state.selected.set(r.key, r); else state.selected.delete(r.key);
    tr.classList.toggle("selected", box.checked);
    updateToolbar();
  });
  const submitted = [];
  if (state.settings.show_submitted_label) submitted.push(el("span", { text: r.submittedLabel }));
  if (state.settings.show_submitted_id) submitted.push(el("span", { class: "sub", text: r.submittedId }));
  const ident = [el("span", { text: r.id })];
  if (state.session && state.session.allNamespaces) ident.push(el("span", { class: "sub", text: r.namespace }));
  const tr = el("tr", { "data-key": r.key, "data-status": r.status, class: state.selected.has(r.key) ? "selected" : "" },
    el("td", { class: "sel" }, box),
    cell("id", ...ident),
    cell("task", el("span", { text: r.task })),
    cell("submitted", ...submitted),
    cell("submission", el("button", { type: "button", class: "link", "data-role": "submission", text: r.submission, onclick: () => openSubmission(r.namespace, r.submission) })),
    cell("created", el("span", { text: when(r.created) })),
    cell("status", chip(r.status), r.reason ? el("span", { class: "sub", text: r.reason }) : null),
    el("td", {}, el("button", { type: "button", text: "Details", "data-role": "details", "aria-label": `Details of job ${r.id}`, onclick: () => openDetails(r.namespace, r.id) })),
  );
  return tr;
}
// Live updates replace rows: the control that had the keyboard focus gets it back in the new row.
function keepFocus(change) {
  const active = document.activeElement;
  const tr = active && active.closest ? active.closest("#rows tr") : null;
  const mark = tr ? { key: tr.dataset.key, role: active.dataset.role } : null;
  change();
  if (!mark) return;
  const again = document.querySelector(`#rows tr[data-key="${CSS.escape(mark.key)}"] [data-role="${mark.role}"]`);
  if (again) again.focus();
}
function render() {
  const started = performance.now();
  const body = $("rows");
  keepFocus(() => body.replaceChildren(...state.rows.map(rowElement)));
  const first = state.matched ? state.offset + 1 : 0;
  const last = state.offset + state.rows.length;
  $("range").textContent = `${first}–${last} of ${state.matched}` + (state.matched !== state.total ? ` (filtered from ${state.total})` : "");
  $("prev").disabled = state.offset === 0;
  $("next").disabled = last >= state.matched;
  const pageBox = $("select-page");
  pageBox.checked = state.rows.length > 0 && state.rows.every((r) => state.selected.has(r.key));
  for (const th of document.querySelectorAll("th[data-col]")) {
    const col = th.dataset.col;
    const sorted = state.sort.replace(/^-/, "") === col;
    if (th.closest("tr.heads")) th.setAttribute("aria-sort", sorted ? (state.sort.startsWith("-") ? "descending" : "ascending") : "none");
  }
  updateToolbar();
  window.taipodStats.renderMs = performance.now() - started;
}
function updateToolbar() {
  const selected = [...state.selected.values()];
  $("selected-count").textContent = `${selected.length} selected`;
  $("cancel-button").disabled = !selected.length || !selected.every((r) => r.canCancel);
  $("delete-button").disabled = !selected.length || !selected.every((r) => r.deletable);
  $("force-delete-button").disabled = !selected.some((r) => !r.deletable);
}

// -- live events ---------------------------------------------------------------------------------------------------
function applyBatch(batch) {
  window.taipodStats.batches += 1;
  let changed = false;
  for (const event of batch) {
    if (event.type === "upsert") {
      window.taipodStats.events += 1;
      const r = event.row;
      if (state.selected.has(r.key)) state.selected.set(r.key, r);
      const shown = state.byKey.get(r.key);
      if (shown) {
        const index = state.rows.indexOf(shown);
        state.rows[index] = r; state.byKey.set(r.key, r);
        const old = document.querySelector(`tr[data-key="${CSS.escape(r.key)}"]`);
        if (old) keepFocus(() => old.replaceWith(rowElement(r)));
      }
      changed = true;
      if (state.details && state.details.key === r.key) scheduleDetails();
      if (state.submission && state.submission.namespace === r.namespace && state.submission.name === r.submission) scheduleSubmission();
    } else if (event.type === "delete") {
      window.taipodStats.events += 1;
      state.selected.delete(event.key);
      changed = true;
    } else if (event.type === "reset") {
      changed = true;
    } else if (event.type === "error") {
      showError({ status: event.status, message: event.message });
    } else if (event.type === "hello") {
      if (event.error) showError(event.error);
    }
  }
  updateToolbar();
  if (changed) scheduleRefresh();
}
function connect() {
  const source = new EventSource("api/events");
  source.onopen = () => { $("live").textContent = "live"; $("live").className = "live on"; };
  source.onerror = () => { $("live").textContent = "reconnecting…"; $("live").className = "live off"; };
  source.onmessage = (message) => applyBatch(JSON.parse(message.data));
}

// -- actions -------------------------------------------------------------------------------------------------------
function targets(rows) { return { jobs: rows.map((r) => ({ namespace: r.namespace, id: r.id })) }; }
async function act(path, rows, extra) {
  try {
    const answer = await api(path, { method: "POST", body: JSON.stringify(Object.assign(targets(rows), extra)) });
    say(answer.results);
    for (const r of answer.results) if (r.ok && path.endsWith("delete")) state.selected.delete(`${r.namespace}/${r.id}`);
  } catch (error) {
    say(rows.map((r) => ({ id: r.id, ok: false, httpStatus: error.status, message: error.message })));
  }
  updateToolbar();
  scheduleRefresh();
}
function forceDialog() {
  const rows = [...state.selected.values()];
  const unfinished = rows.filter((r) => !r.deletable);
  $("force-text").textContent = `${unfinished.length} of the ${rows.length} selected jobs are not finished. Deleting them stops their pods; their dependents are abandoned.`;
  $("force-list").replaceChildren(...unfinished.map((r) => el("li", { text: `${r.id} (${r.status})` })));
  $("force-dialog").showModal();
}

// -- details -------------------------------------------------------------------------------------------------------
let detailsTimer = null, submissionTimer = null;
function scheduleDetails() { if (!detailsTimer) detailsTimer = setTimeout(() => { detailsTimer = null; loadDetails(false); }, 300); }
function scheduleSubmission() { if (!submissionTimer) submissionTimer = setTimeout(() => { submissionTimer = null; loadSubmission(false); }, 300); }

function openDetails(namespace, id) {
  state.details = { namespace, id, key: `${namespace}/${id}` };
  $("details").hidden = false;
  loadDetails(true);
}
function dl(pairs) {
  const list = el("dl");
  for (const [term, value] of pairs) list.append(el("dt", { text: term }), el("dd", {}, value instanceof Node ? value : el("span", { text: String(value) })));
  return list;
}
function timelineSvg(segments) {
  const width = 400, total = Math.max(...segments.map((s) => s.to), 0.001);
  const box = svg("svg", { width, height: 22 * segments.length + 10, role: "img", "aria-label": "Status timeline" });
  segments.forEach((s, i) => {
    const x = 90 + (s.from / total) * (width - 100), w = Math.max(2, ((s.to - s.from) / total) * (width - 100));
    box.append(svg("text", { x: 0, y: 16 + 22 * i }, s.status));
    box.append(svg("rect", { x, y: 5 + 22 * i, width: w, height: 14, class: `fill-${s.status}` }));
  });
  return box;
}
function dataTable(nodes) {
  if (!nodes.length) return el("p", { class: "muted", text: "none" });
  const body = el("tbody");
  for (const n of nodes) {
    const value = n.valueShown ? el("pre", { text: n.value }) : el("span", { class: "muted", text: n.lastEditDate ? "(in the store; too large or not JSON to show)" : "(never written)" });
    body.append(el("tr", {}, el("td", { text: n.name }), el("td", { text: n.lastEditDate ? when(n.lastEditDate) : "" }), el("td", {}, value)));
  }
  return el("table", { class: "nodes" }, el("thead", {}, el("tr", {}, el("th", { text: "data node" }), el("th", { text: "last edit" }), el("th", { text: "value" }))), body);
}
async function loadDetails(focus) {
  const target = state.details;
  if (!target) return;
  let info;
  try { info = await api(`api/jobs/${encodeURIComponent(target.namespace)}/${encodeURIComponent(target.id)}`); }
  catch (error) { info = { error: { status: error.status, message: error.message } }; }
  if (state.details !== target) return;
  const body = $("details-body");
  $("details-title").textContent = target.id;
  if (info.error) { body.replaceChildren(el("p", { class: "error", text: `${info.error.status}: ${info.error.message}` })); return; }
  const r = info.row;
  const parts = [
    dl([
      ["status", chip(r.status)], ["reason", r.reason || "—"], ["task", r.task], ["function", info.function || "—"],
      ["scenario", r.scenario], ["scenario name", info.scenarioName || "—"], ["namespace", r.namespace], ["created", when(r.created)], ["exit code", info.exitCode ?? "—"],
      ["submission", el("button", { type: "button", class: "link", text: r.submission, onclick: () => openSubmission(r.namespace, r.submission) })],
    ]),
    el("h3", { text: "Timeline" }), timelineSvg(info.timeline),
    el("table", { class: "timeline" }, el("tbody", {}, ...info.timeline.map((s) => el("tr", {}, el("td", {}, chip(s.status)), el("td", { text: when(s.start) }), el("td", { text: s.seconds ? seconds(s.seconds) : "" }))))),
    dl([["blocked", seconds(info.durations.blocked)], ["pending", seconds(info.durations.pending)], ["execution", seconds(info.durations.execution)]]),
  ];
  if (info.message) parts.push(el("h3", { text: "Message" }), el("pre", { class: "message", text: info.message }));
  if (info.stacktrace.length) parts.push(el("h3", { text: "Stacktrace" }), el("pre", { class: "stacktrace", text: info.stacktrace.join("\n") }));
  parts.push(el("h3", { text: "Inputs" }), dataTable(info.inputs), el("h3", { text: "Outputs" }), dataTable(info.outputs));
  const logs = el("pre", { class: "logs", text: info.pod ? "loading…" : "(no pod: the job never ran)" });
  parts.push(el("h3", { text: `Logs${info.pod ? ` of pod ${info.pod}` : ""}` }), logs);
  body.replaceChildren(...parts);
  if (focus) $("details").focus();
  if (info.pod) {
    try {
      const answer = await api(`api/jobs/${encodeURIComponent(target.namespace)}/${encodeURIComponent(target.id)}/logs`);
      logs.textContent = answer.error ? `${answer.error.status}: ${answer.error.message}` : (answer.text || "(empty)");
    } catch (error) { logs.textContent = `${error.status}: ${error.message}`; }
  }
}

function openSubmission(namespace, name) {
  state.submission = { namespace, name };
  $("submission").hidden = false;
  state.filters.submission = name;
  document.querySelector('[data-filter="submission"]').value = name;
  state.offset = 0;
  refresh();
  loadSubmission(true);
}
function ganttSvg(gantt) {
  const width = 420, label = 110, total = Math.max(gantt.seconds, 0.001);
  const box = svg("svg", { width, height: 24 * gantt.bars.length + 24, role: "img", "aria-label": "Gantt chart of the submission's jobs" });
  gantt.bars.forEach((bar, i) => {
    box.append(svg("text", { x: 0, y: 16 + 24 * i }, bar.task));
    for (const s of bar.segments) {
      const x = label + (s.from / total) * (width - label - 10);
      const w = Math.max(2, ((s.to - s.from) / total) * (width - label - 10));
      const rect = svg("rect", { x, y: 4 + 24 * i, width: w, height: 16, class: `fill-${s.status}` });
      rect.append(svg("title", {}, `${bar.task}: ${s.status} ${seconds(s.seconds)}`));
      box.append(rect);
    }
  });
  box.append(svg("text", { x: label, y: 24 * gantt.bars.length + 18 }, `0 — ${seconds(gantt.seconds)}`));
  return box;
}
function dagSvg(dag) {
  // Top to bottom: data nodes (ellipses) and tasks (boxes coloured by their job's status) alternate.
  const box = svg("svg", { width: dag.width, height: dag.height, viewBox: `0 0 ${dag.width} ${dag.height}`, role: "img", "aria-label": "The scenario's DAG, tasks coloured by status" });
  const at = new Map(dag.nodes.map((n) => [n.id, n]));
  for (const e of dag.edges) {
    const a = at.get(e.from), b = at.get(e.to);
    const x1 = a.x + 65, y1 = a.y + 36, x2 = b.x + 65, y2 = b.y;
    box.append(svg("path", { class: "edge", d: `M${x1} ${y1} C${x1} ${y1 + 12} ${x2} ${y2 - 12} ${x2} ${y2}` }));
  }
  for (const n of dag.nodes) {
    const g = svg("g", { "data-node": n.id, "data-status": n.status || "" });
    if (n.kind === "task") {
      g.append(svg("rect", { x: n.x, y: n.y, width: 130, height: 36, rx: 4, class: `fill-${n.status || "none"}` }));
      g.append(svg("text", { x: n.x + 6, y: n.y + 15, class: n.status ? "on-bar" : "" }, n.label.slice(0, 20)));
      g.append(svg("text", { x: n.x + 6, y: n.y + 29, class: n.status ? "on-bar" : "" }, n.status || "not submitted"));
    } else {
      g.append(svg("ellipse", { cx: n.x + 65, cy: n.y + 18, rx: 64, ry: 14, class: "node-data" }));
      g.append(svg("text", { x: n.x + 65, y: n.y + 22, "text-anchor": "middle" }, n.label.slice(0, 20)));
    }
    g.append(svg("title", {}, `${n.kind === "task" ? "task" : "data node"} ${n.label}${n.status ? `: ${n.status}` : ""}`));
    box.append(g);
  }
  return box;
}
async function loadSubmission(focus) {
  const target = state.submission;
  if (!target) return;
  let info;
  try { info = await api(`api/submissions/${encodeURIComponent(target.namespace)}/${encodeURIComponent(target.name)}`); }
  catch (error) { info = { error: { status: error.status, message: error.message } }; }
  if (state.submission !== target) return;
  $("submission-title").textContent = `Submission ${target.name}`;
  const parts = [];
  if (info.error) parts.push(el("p", { class: "error", text: `${info.error.status}: ${info.error.message}` }));
  if (info.gantt) {
    parts.push(dl([["status", info.status ? chip(info.status) : "—"], ["finished", info.finished || "—"], ["scenario", info.scenario], ["scenario name", info.scenarioName || "—"]]));
    parts.push(el("h3", { text: "Gantt" }), ganttSvg(info.gantt));
    parts.push(el("h3", { text: "DAG" }), el("div", { class: "dag" }, dagSvg(info.dag)));
    parts.push(el("div", { class: "legend" }, ...STATUSES.map(chip)));
  }
  $("submission-body").replaceChildren(...parts);
  if (focus) $("submission").focus();
}

// -- wiring --------------------------------------------------------------------------------------------------------
function wire() {
  for (const button of document.querySelectorAll("button.sort")) {
    button.addEventListener("click", () => {
      const col = button.dataset.sort;
      state.sort = state.sort === col ? `-${col}` : (state.sort === `-${col}` ? col : (col === "created" ? "-created" : col));
      state.offset = 0;
      refresh();
    });
  }
  let typing = null;
  for (const input of document.querySelectorAll("[data-filter]")) {
    input.addEventListener("input", () => {
      state.filters[input.dataset.filter] = input.value.trim();
      state.offset = 0;
      clearTimeout(typing);
      typing = setTimeout(refresh, 150);
    });
  }
  // Menus open over the table (fixed position): a scrolling table would otherwise clip them.
  for (const menu of document.querySelectorAll("details.status-filter, details.columns")) {
    menu.addEventListener("toggle", () => {
      if (!menu.open) return;
      const box = menu.querySelector("summary").getBoundingClientRect();
      const panel = menu.querySelector("fieldset");
      panel.style.position = "fixed";
      panel.style.top = `${box.bottom + 2}px`;
      panel.style.left = `${Math.max(4, Math.min(box.left, window.innerWidth - 220))}px`;
      panel.style.right = "auto";
    });
  }
  const fieldset = document.querySelector("#status-filter fieldset");
  for (const status of STATUSES) {
    const box = el("input", { type: "checkbox", value: status, "data-status-filter": status });
    box.addEventListener("change", () => {
      if (box.checked) state.statuses.add(status); else state.statuses.delete(status);
      document.querySelector("#status-filter summary").textContent = state.statuses.size ? `Status: ${[...state.statuses].join(", ")}` : "Status: all";
      state.offset = 0;
      refresh();
    });
    fieldset.append(el("label", {}, box, ` ${status}`));
  }
  $("clear-filters").addEventListener("click", () => {
    state.filters = {}; state.statuses.clear(); state.offset = 0;
    for (const input of document.querySelectorAll("[data-filter]")) input.value = "";
    for (const box of document.querySelectorAll("[data-status-filter]")) box.checked = false;
    document.querySelector("#status-filter summary").textContent = "Status: all";
    refresh();
  });
  $("select-page").addEventListener("change", (event) => {
    for (const r of state.rows) if (event.target.checked) state.selected.set(r.key, r); else state.selected.delete(r.key);
    render();
  });
  $("prev").addEventListener("click", () => { state.offset = Math.max(0, state.offset - PAGE); refresh(); });
  $("next").addEventListener("click", () => { state.offset += PAGE; refresh(); });
  $("cancel-button").addEventListener("click", () => act("api/cancel", [...state.selected.values()], { terminate: $("terminate").checked }));
  $("delete-button").addEventListener("click", () => act("api/delete", [...state.selected.values()], { force: false }));
  $("force-delete-button").addEventListener("click", forceDialog);
  $("force-keep").addEventListener("click", () => $("force-dialog").close());
  $("force-confirm").addEventListener("click", () => { $("force-dialog").close(); act("api/delete", [...state.selected.values()], { force: true }); });
  $("close-details").addEventListener("click", () => { state.details = null; $("details").hidden = true; });
  $("close-submission").addEventListener("click", () => { state.submission = null; $("submission").hidden = true; });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    for (const d of document.querySelectorAll("details[open]")) d.open = false;
    if (!$("details").hidden) { state.details = null; $("details").hidden = true; }
    else if (!$("submission").hidden) { state.submission = null; $("submission").hidden = true; }
  });
}

async function start() {
  wire();
  loadSettings();
  const params = new URLSearchParams(location.search);
  for (const name of ["id", "task", "submitted", "submission", "from", "to"]) {
    if (params.get(name)) { state.filters[name] = params.get(name); document.querySelector(`[data-filter="${name}"]`).value = params.get(name); }
  }
  if (params.get("sort")) state.sort = params.get("sort");
  // The first rows and the session (CSRF token, scope) are fetched together: one round trip to the first paint.
  const first = refresh();
  try {
    state.session = await api("api/session");
    state.csrf = state.session.csrf;
    $("scope").textContent = state.session.allNamespaces ? "every namespace" : `namespace ${state.session.namespace}`;
  } catch (error) { showError(error); return; }
  await first;
  if (state.session.allNamespaces) render();  // the namespace line under each id
  connect();
}
document.addEventListener("DOMContentLoaded", start);
