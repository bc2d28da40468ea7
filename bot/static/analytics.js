// Carebot satisfaction analytics. Every value from the server is shown as text
// (textContent) or passed to Plotly escaped: customers' words must never become markup.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { voicesIntent: null, labels: {}, refit: null };
// Columns whose values are names (intents, channels...): shown in words, the raw name on hover.
const NAMED = new Set(["intent", "primary_intent", "channel", "segment", "outcome", "reason", "feature", "from_stage", "to_stage"]);
const PLOT_CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["lasso2d", "select2d"] };
const BASE_LAYOUT = { margin: { l: 50, r: 20, t: 10, b: 40 }, font: { size: 12 }, hovermode: "closest",
  legend: { orientation: "h", y: -0.2 }, paper_bgcolor: "#fff", plot_bgcolor: "#fff" };
const RED_GREEN = [[0, "#c0392b"], [0.5, "#f4d03f"], [1, "#27ae60"]];

class AuthError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

function esc(value) {
  // For Plotly labels and hover text, which understand a few HTML tags.
  return String(value ?? "").replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

function word(raw) {
  // The server's words for a name, else snake_case as a sentence ("order_status" -> "Order status").
  if (raw === null || raw === undefined) return "";
  if (state.labels[raw]) return state.labels[raw];
  if (/\s/.test(String(raw))) return String(raw);  // already words (a model segment's name)
  const text = String(raw).replace(/[_-]+/g, " ").trim();
  return text ? text[0].toUpperCase() + text.slice(1).toLowerCase() : String(raw);
}

function transcriptLink(conversationId, text) {
  // A link into the transcript dialog; the text is set as text, never parsed as markup.
  const a = document.createElement("a");
  a.href = "#conversation=" + encodeURIComponent(conversationId);
  a.className = "conversation-link";
  a.textContent = text;
  a.title = "Read conversation " + conversationId;
  return a;
}

function fmt(value, kind) {
  if (value === null || value === undefined || value === "") return "–";
  switch (kind) {
    case "rate": return (100 * value).toFixed(1) + "%";
    case "float": { const t = Number(value).toFixed(2); return t === "-0.00" ? "0.00" : t; }
    case "int": return Number(value).toLocaleString();
    case "seconds": {
      const s = Number(value);
      if (s < 90) return s.toFixed(0) + " s";
      if (s < 5400) return (s / 60).toFixed(1) + " min";
      return (s / 3600).toFixed(1) + " h";
    }
    case "datetime": return String(value).replace("T", " ").slice(0, 16);
    case "bool": return value ? "yes" : "no";
    default: return String(value);
  }
}

function filterQuery(extra = {}) {
  const params = new URLSearchParams();
  for (const [key, value] of new FormData($("filters"))) if (value) params.set(key, value);
  for (const [key, value] of Object.entries(extra)) if (value !== null && value !== undefined) params.set(key, value);
  return params.toString();
}

async function api(path) {
  const response = await fetch(path, { credentials: "same-origin" });
  let body = null;
  try { body = await response.json(); } catch { body = null; }
  if (response.status === 401 || response.status === 403) throw new AuthError(response.status, body?.error || "");
  if (!response.ok) throw new Error(body?.error || `${path}: HTTP ${response.status}`);
  return body;
}

const report = (name, extra = {}) => api(`/api/reports/${name}?${filterQuery(extra)}`);

function show(view) {
  for (const id of ["login-view", "denied-view", "dashboard-view"]) $(id).hidden = id !== view;
}

function fillSelect(select, values) {
  const keep = select.value;
  while (select.options.length > 1) select.remove(1);
  for (const value of values) {
    const option = document.createElement("option");
    option.value = value;
    option.textContent = word(value);
    option.title = value;
    select.append(option);
  }
  select.value = keep;
}

function showModels(models) {
  const parts = [];
  for (const [name, info] of Object.entries(models)) {
    parts.push(info ? `${name} fitted ${fmt(info.fitted_at, "datetime")} UTC on ${fmt(info.n_rows, "int")} rows`
      : `${name} not fitted yet`);
  }
  $("models").textContent = "Models: " + parts.join(" · ") + " (refit with `carebot analytics retrain`).";
}

function table(container, columns, rows, cellClass = () => "") {
  container.replaceChildren();
  if (!rows.length) {
    const p = document.createElement("p");
    p.className = "empty";
    p.textContent = "Nothing to show for these filters.";
    container.append(p);
    return;
  }
  const t = document.createElement("table");
  const head = t.createTHead().insertRow();
  for (const column of columns) {
    const th = document.createElement("th");
    th.textContent = column.label;
    head.append(th);
  }
  const body = t.createTBody();
  for (const row of rows) {
    const tr = body.insertRow();
    for (const column of columns) {
      const td = tr.insertCell();
      const value = row[column.name];
      const linkTo = column.name === "conversation_id" ? value
        : column.name === "text" ? row.conversation_id
          : column.name === "example" ? row.example_conversation_id : null;
      if (NAMED.has(column.name) && value) {
        td.textContent = word(value);
        td.title = value;
        td.dataset.raw = value;
      } else if (linkTo && value) {
        td.append(transcriptLink(linkTo, fmt(value, column.kind)));
      } else {
        td.textContent = fmt(value, column.kind);
      }
      const numeric = ["int", "float", "rate", "seconds"].includes(column.kind);
      td.className = [numeric ? "num" : "", column.name === "text" || column.name === "example" ? "quote" : "",
        cellClass(row, column)].join(" ").trim();
    }
  }
  container.append(t);
}

const hasValues = (trace) => ["x", "y", "values"].some((key) => Array.isArray(trace[key])
  && trace[key].some((v) => v !== null && v !== undefined)) || (trace.link?.value?.length > 0);

function countAxis(values) {
  // Counts are whole: below ten, one tick per unit; above, Plotly's spacing without decimals.
  const max = Math.max(0, ...values.filter((v) => v !== null && v !== undefined));
  return max < 10 ? { dtick: 1, tickformat: ",d", rangemode: "tozero" } : { tickformat: ",d", rangemode: "tozero" };
}

function plot(id, traces, layout = {}) {
  const box = $(id);
  // No data: a sentence, not bare axes or a blank donut.
  if (!traces.some(hasValues)) {
    Plotly.purge(box);
    const p = document.createElement("p");
    p.className = "empty";
    p.textContent = "No conversations match these filters.";
    box.replaceChildren(p);
    box.classList.remove("js-plotly-plot");
    box.classList.add("is-empty");
    return;
  }
  if (box.classList.contains("is-empty")) { box.replaceChildren(); box.classList.remove("is-empty"); }
  Plotly.react(box, traces, { ...BASE_LAYOUT, ...layout }, PLOT_CONFIG);
}

function kpis(metrics) {
  const wanted = ["conversations", "containment_rate", "escalation_rate", "abandonment_rate", "fallback_rate",
    "csat_score", "csat_average", "avg_sentiment", "ended_more_negative", "first_response_median", "handle_time_median"];
  const byName = Object.fromEntries(metrics.rows.map((r) => [r.metric, r]));
  const box = $("kpis");
  box.replaceChildren();
  for (const name of wanted) {
    const m = byName[name];
    if (!m) continue;
    const card = document.createElement("div");
    card.className = "kpi";
    const label = document.createElement("div");
    label.className = "label";
    label.textContent = m.label;
    const value = document.createElement("div");
    value.className = "value";
    value.textContent = fmt(m.value, m.kind);
    const n = document.createElement("div");
    n.className = "n";
    n.textContent = m.n === null ? "" : `n = ${fmt(m.n, "int")}`;
    card.append(label, value, n);
    if (metrics.meta?.previous) card.append(kpiChange(m, metrics.meta.previous));
    box.append(card);
  }
  const before = metrics.meta?.previous;
  $("kpis-note").textContent = before
    ? `Changes are against the previous period of the same length, ${before.from} to ${before.to}.`
    : (metrics.notes || []).filter((note) => note.startsWith("Set both dates")).join(" ");
}

function signed(change, kind) {
  const sign = change > 0 ? "+" : change < 0 ? "−" : "±";
  const size = Math.abs(change);
  if (kind === "rate") return `${sign}${(100 * size).toFixed(1)} pts`;
  if (kind === "int") return sign + Number(size).toLocaleString();
  if (kind === "seconds") return sign + fmt(size, "seconds");
  return sign + size.toFixed(2);
}

function kpiChange(m, before) {
  const div = document.createElement("div");
  div.className = "change";
  const earlierN = m.previous_n === null || m.previous_n === undefined ? "" : `, n = ${fmt(m.previous_n, "int")}`;
  if (m.change === null || m.change === undefined) {
    div.textContent = m.previous === null || m.previous === undefined
      ? `previous period: no data${earlierN}` : `previous ${fmt(m.previous, m.kind)}${earlierN}`;
  } else {
    div.textContent = `${m.change > 0 ? "▲" : m.change < 0 ? "▼" : "="} ${signed(m.change, m.kind)} vs ` +
      `${fmt(m.previous, m.kind)}${earlierN}`;
    div.dataset.direction = m.change > 0 ? "up" : m.change < 0 ? "down" : "same";
  }
  div.title = `Previous period ${before.from} to ${before.to}`;
  return div;
}

function fixFirst(r) {
  const list = $("fix-first-list");
  list.replaceChildren();
  const m = r.meta || {};
  const measure = m.measure === "csat" ? "CSAT" : "sentiment";
  $("fix-first-note").textContent = r.rows.length
    ? `Conversations × how far each intent's average ${measure} is below the average of all ` +
      `${fmt(m.conversations, "int")} conversations (${fmt(m.average, "float")}). ` + r.notes.slice(2).join(" ")
    : (m.conversations ? `No intent is below the average ${measure} in these filters.` : "No conversations match these filters.");
  for (const row of r.rows) {
    const li = document.createElement("li");
    li.className = "fix-item";
    const name = document.createElement("strong");
    name.textContent = word(row.intent);
    name.title = row.intent;
    name.dataset.raw = row.intent;
    const figures = document.createElement("span");
    figures.className = "figures";
    figures.textContent = ` — ${fmt(row.lost, "float")} ${m.unit} lost (${fmt(row.share_of_lost, "rate")} of the total): ` +
      `${fmt(row.conversations, "int")} conversation${row.conversations === 1 ? "" : "s"}, average ${measure} ${fmt(row.value, "float")} ` +
      `(n = ${fmt(row.value_n, "int")}) vs ${fmt(row.average, "float")}; ` +
      `CSAT ${fmt(row.csat_average, "float")} from ${fmt(row.rated, "int")} rating${row.rated === 1 ? "" : "s"}; ` +
      `escalated ${fmt(row.escalation_rate, "rate")}.`;
    const examples = document.createElement("ul");
    examples.className = "examples";
    for (const example of row.examples || []) {
      const item = document.createElement("li");
      item.append(transcriptLink(example.conversation_id, example.quote ? `“${example.quote}”` : example.conversation_id));
      examples.append(item);
    }
    li.append(name, figures, examples);
    list.append(li);
  }
}

function timeChart(r) {
  const x = r.rows.map((row) => row.period);
  plot("chart-time", [
    { type: "bar", name: "Conversations", x, y: r.rows.map((row) => row.conversations), yaxis: "y2",
      marker: { color: "#d6dcea" } },
    { type: "scatter", mode: "lines+markers", name: "Avg sentiment", x, y: r.rows.map((row) => row.avg_sentiment),
      line: { color: "#2f6fed", width: 2 } },
    { type: "scatter", mode: "lines", name: "Ended more negative", x, y: r.rows.map((row) => row.ended_more_negative),
      line: { color: "#c0392b", dash: "dot" } },
  ], { yaxis: { title: { text: "sentiment / share" }, range: [-1, 1], zeroline: true },
       yaxis2: { title: { text: "conversations" }, overlaying: "y", side: "right", showgrid: false,
         ...countAxis(r.rows.map((row) => row.conversations)) },
       margin: { l: 55, r: 55, t: 10, b: 40 } });
}

function outcomesChart(r) {
  plot("chart-outcomes", [{ type: "pie", hole: 0.5, sort: false,
    labels: r.rows.map((row) => esc(word(row.outcome))), values: r.rows.map((row) => row.conversations),
    customdata: r.rows.map((row) => [esc(row.outcome)]),
    marker: { colors: r.rows.map((row) => ({ contained: "#27ae60", escalated: "#e67e22", abandoned: "#c0392b",
      in_progress: "#95a5a6" })[row.outcome]) },
    hovertemplate: "%{label} (%{customdata[0]}): %{value} conversations (%{percent})<extra></extra>" }],
  { margin: { l: 10, r: 10, t: 10, b: 10 } });
  drillOnClick("chart-outcomes", (point) => ({ outcome: r.rows[point.pointNumber ?? point.pointIndex]?.outcome }));
}

function drillOnClick(id, filterOf) {
  // A click on a bar or slice narrows every panel to it; the tables then link to transcripts.
  const el = $(id);
  el.removeAllListeners?.("plotly_click");
  if (!el.on) return;
  el.on("plotly_click", (event) => {
    const point = event.points?.[0];
    if (!point) return;
    const filter = filterOf(point);
    clearRefit();
    const form = $("filters");
    for (const [key, value] of Object.entries(filter)) {
      if (!value || !form.elements[key]) continue;
      form.elements[key].value = value;
    }
    loadAll().catch(handleError);
  });
}

function intentsChart(r) {
  const rows = [...r.rows].reverse();
  plot("chart-intents", [{ type: "bar", orientation: "h", y: rows.map((row) => esc(word(row.intent))),
    x: rows.map((row) => row.messages), customdata: rows.map((row) => [fmt(row.avg_sentiment, "float"),
      fmt(row.csat_average, "float"), row.conversations, esc(row.intent), row.rated]),
    marker: { color: rows.map((row) => row.avg_sentiment ?? 0), colorscale: RED_GREEN, cmin: -1, cmax: 1,
      colorbar: { title: { text: "sentiment" }, thickness: 10 } },
    hovertemplate: "%{y} (%{customdata[3]}): %{x} messages in %{customdata[2]} conversations<br>sentiment %{customdata[0]}, CSAT %{customdata[1]} from %{customdata[4]} ratings<br>click: read what they wrote<extra></extra>" }],
  { margin: { l: 150, r: 10, t: 10, b: 40 }, xaxis: { title: { text: "customer messages" },
    ...countAxis(rows.map((row) => row.messages)) } });
  const el = $("chart-intents");
  el.removeAllListeners?.("plotly_click");
  if (!el.on) return;  // empty state: nothing to click
  el.on("plotly_click", (event) => {
    const point = event.points?.[0];
    if (!point) return;
    state.voicesIntent = rows[point.pointIndex].intent;
    loadVoices().catch(handleError);
  });
}

function sentimentCsatChart(id, rows, key, filterKey = key) {
  const x = rows.map((row) => esc(word(row[key])));
  const custom = rows.map((row) => [row.conversations, row.rated, esc(row[key])]);
  plot(id, [
    { type: "bar", name: "Avg sentiment", x, y: rows.map((row) => row.avg_sentiment), offsetgroup: 1,
      marker: { color: "#2f6fed" }, customdata: custom,
      hovertemplate: "%{x} (%{customdata[2]}): sentiment %{y:.2f} (n = %{customdata[0]} conversations)<extra></extra>" },
    { type: "bar", name: "CSAT avg (1–5)", x, y: rows.map((row) => row.csat_average), yaxis: "y2", offsetgroup: 2,
      marker: { color: "#f39c12" }, customdata: custom,
      hovertemplate: "%{x} (%{customdata[2]}): CSAT %{y:.2f} (n = %{customdata[1]} ratings)<extra></extra>" },
  ], { barmode: "group", yaxis: { title: { text: "sentiment" }, range: [-1, 1] },
       yaxis2: { title: { text: "CSAT" }, overlaying: "y", side: "right", range: [0, 5], showgrid: false },
       margin: { l: 55, r: 55, t: 10, b: 60 } });
  if (filterKey) drillOnClick(id, (point) => ({ [filterKey]: rows[point.pointIndex]?.[key] }));
}

function escalationsChart(r) {
  const x = r.rows.map((row) => esc(word(row.reason)));
  const minutes = (key) => r.rows.map((row) => (row[key] === null ? null : row[key] / 60));
  const custom = r.rows.map((row) => [esc(row.reason), row.escalations, row.answered, row.resolved]);
  const hover = (what) => `%{x} (%{customdata[0]}): ${what} %{y:.1f} min<br>n = %{customdata[1]} hand-offs, %{customdata[2]} answered, %{customdata[3]} resolved<extra></extra>`;
  plot("chart-escalations", [
    { type: "bar", name: "First response (median, min)", x, y: minutes("first_response_median"), marker: { color: "#8e44ad" },
      customdata: custom, hovertemplate: hover("first response") },
    { type: "bar", name: "Handle time (median, min)", x, y: minutes("handle_time_median"), marker: { color: "#16a085" },
      customdata: custom, hovertemplate: hover("handle time") },
  ], { barmode: "group", yaxis: { title: { text: "minutes" } }, margin: { l: 55, r: 10, t: 10, b: 60 } });
  drillOnClick("chart-escalations", () => ({ outcome: "escalated" }));
}

function driversChart(r) {
  const m = r.meta || {};
  const q = m.quality;
  $("drivers-title").textContent = m.refit
    ? `What drives CSAT (fitted on these filters, n = ${fmt(m.n_rows, "int")})` : "What drives CSAT (all-time fit)";
  // The model's quality comes first: a model that explains nothing is not drawn as drivers.
  $("drivers-note").textContent = q
    ? `${q.usable ? "" : "Drivers not shown. "}${r.notes[0]} (cross-validated R² ${fmt(q.cv_r2, "float")}, ` +
      `MAE ${fmt(q.mae, "float")}, n = ${fmt(q.n, "int")}.)` +
      (q.usable ? " Bars: change in CSAT for a typical (1 SD) difference with its 95% CI; ★ significant (p < 0.05)." : "")
    : r.notes.join(" ");
  if (m.cleaned) $("drivers-note").textContent += ` Cleaned before fitting: ${m.cleaned}.`;
  $("drivers-note").dataset.usable = q ? String(q.usable) : "false";
  const rows = r.rows.filter((row) => row.feature !== "intercept").reverse();
  $("chart-drivers").hidden = !rows.length;
  if (!rows.length) return;
  const sd = (row, key, fallback) => (row[key] ?? fallback);
  plot("chart-drivers", [{ type: "bar", orientation: "h",
    y: rows.map((row) => esc(word(row.feature)) + (row.significant ? " ★" : "")),
    x: rows.map((row) => row.effect_per_sd),
    error_x: { type: "data", symmetric: false,
      array: rows.map((row) => Math.abs(sd(row, "ci_high_sd", row.effect_per_sd) - row.effect_per_sd)),
      arrayminus: rows.map((row) => Math.abs(row.effect_per_sd - sd(row, "ci_low_sd", row.effect_per_sd))), color: "#555" },
    marker: { color: rows.map((row) => (!row.significant ? "#bdc3c7" : row.effect_per_sd >= 0 ? "#27ae60" : "#c0392b")) },
    customdata: rows.map((row) => [esc(row.meaning), fmt(row.coefficient, "float"), fmt(row.ci_low, "float"),
      fmt(row.ci_high, "float"), fmt(row.p_value, "float"), esc(row.feature)]),
    hovertemplate: "%{y} (%{customdata[5]}): %{customdata[1]} per %{customdata[0]}<br>95% CI %{customdata[2]} to %{customdata[3]}, p %{customdata[4]}<extra></extra>" }],
  { margin: { l: 130, r: 10, t: 10, b: 40 }, xaxis: { title: { text: "change in CSAT (1 SD)" }, zeroline: true } });
}

function journeyChart(r) {
  const m = r.meta || {};
  $("journey-note").textContent = r.rows.length
    ? `${fmt(m.n_rows, "int")} conversations with a journey stage. Red links: sentiment falls at that step.`
    : r.notes.join(" ");
  const nodes = ["start", "pre-purchase", "purchase", "delivery", "post-purchase", "end"];
  const index = Object.fromEntries(nodes.map((n, i) => [n, i]));
  const links = r.rows.filter((row) => row.from_stage in index && row.to_stage in index);
  $("chart-journey").hidden = !links.length;
  if (!links.length) { table($("table-journey"), r.columns, []); return; }
  plot("chart-journey", [{ type: "sankey", arrangement: "snap",
    node: { label: nodes.map((n) => esc(word(n))), pad: 14, thickness: 14, color: "#5d6d7e" },
    link: { source: links.map((l) => index[l.from_stage]), target: links.map((l) => index[l.to_stage]),
      value: links.map((l) => l.conversations),
      color: links.map((l) => (l.sentiment_change !== null && l.sentiment_change < -0.1 ? "rgba(192,57,43,0.45)" : "rgba(120,130,150,0.3)")),
      customdata: links.map((l) => fmt(l.sentiment_change, "float")),
      hovertemplate: "%{source.label} → %{target.label}: %{value} conversations<br>sentiment change %{customdata}<extra></extra>" } }],
  { margin: { l: 10, r: 10, t: 10, b: 10 } });
  const worst = [...links].filter((l) => l.sentiment_change !== null).sort((a, b) => a.sentiment_change - b.sentiment_change).slice(0, 5);
  table($("table-journey"), r.columns, worst);
}

async function loadVoices() {
  const intent = state.voicesIntent;
  const r = await report("voices", { limit: 30, ...(intent ? { intent } : {}) });
  $("voices-title").textContent = "In the customers' words" + (r.filters.intent ? `: ${r.filters.intent}` : " (most negative first)");
  table($("table-voices"), r.columns, r.rows);
}

function updateExportLinks() {
  for (const link of document.querySelectorAll("a.csv")) {
    const extra = link.dataset.report === "voices" && state.voicesIntent ? { intent: state.voicesIntent } : {};
    link.href = `/api/reports/${link.dataset.report}.csv?${filterQuery(extra)}`;
  }
  $("export-messages").href = `/api/export/messages.csv?${filterQuery()}`;
}

async function loadAll() {
  $("status").textContent = "Loading…";
  const started = performance.now();
  updateExportLinks();
  const names = ["metrics", "fix-first", "sentiment-over-time", "outcomes", "intents", "worst-intents", "sentiment-by-channel",
    "sentiment-by-segment", "escalations", "satisfaction-drivers", "customer-segments", "segment-profiles", "journey"];
  const results = await Promise.all(names.map((name) => report(name, name === "worst-intents" ? { limit: 10, min_conversations: 3 }
    : name === "fix-first" ? { limit: 5, min_conversations: 1 } : {})));
  const r = Object.fromEntries(names.map((name, i) => [name, results[i]]));
  const failed = [];
  const draw = (what, fn) => {
    // One chart that cannot be drawn must not take the rest of the dashboard with it.
    try { fn(); } catch (error) { console.error(what, error); failed.push(what); }
  };
  draw("metrics", () => kpis(r.metrics));
  draw("sentiment over time", () => timeChart(r["sentiment-over-time"]));
  draw("outcomes", () => outcomesChart(r.outcomes));
  draw("intents", () => intentsChart(r.intents));
  draw("worst intents", () => table($("table-worst"), r["worst-intents"].columns.filter((c) => ["intent",
    "conversations", "avg_sentiment", "negative_share", "escalation_rate", "csat_average", "rated", "lost_sentiment",
    "example"].includes(c.name)),
  r["worst-intents"].rows));
  draw("channels", () => sentimentCsatChart("chart-channel", r["sentiment-by-channel"].rows, "channel"));
  draw("segments", () => sentimentCsatChart("chart-segment", r["sentiment-by-segment"].rows, "segment"));
  draw("escalations", () => escalationsChart(r.escalations));
  draw("drivers", () => driversChart(state.refit?.drivers || r["satisfaction-drivers"]));
  draw("fix first", () => fixFirst(r["fix-first"]));
  draw("model segments", () => {
    const profiles = state.refit?.profiles || r["segment-profiles"];
    $("segments-title").textContent = profiles.meta?.refit
      ? `Customer segments (fitted on these filters, n = ${fmt(profiles.meta.n_rows, "int")} customers)`
      : "Customer segments (model, all-time fit)";
    $("segments-note").textContent = profiles.rows.length
      ? `k-means on RFM and support history, ${profiles.meta.k} segments. ${profiles.notes.join(" ")}`
      : profiles.notes.join(" ");
    if (profiles.meta?.cleaned) $("segments-note").textContent += ` Cleaned before fitting: ${profiles.meta.cleaned}.`;
    // The chart groups conversations by the stored segments: hidden while a refit is shown.
    const clusters = profiles.meta?.refit ? [] : r["customer-segments"].rows;
    $("chart-clusters").hidden = !clusters.length;
    if (clusters.length) sentimentCsatChart("chart-clusters", r["customer-segments"].rows, "segment", null);
    table($("table-profiles"), profiles.columns, profiles.rows);
  });
  draw("journey", () => journeyChart(r.journey));
  // Data quality and customer risk (bot/monitoring, analytics/quality): whole-database checks.
  const [quality, risk] = await Promise.all([report("data-quality"), report("risk", { limit: 20 })]);
  draw("data quality", () => {
    $("quality-note").textContent = quality.rows.length
      ? `${quality.meta.problems} problem rows on ${quality.meta.database}; the filters do not apply.`
      : quality.notes.join(" ");
    table($("table-quality"), quality.columns, quality.rows);
  });
  draw("risk", () => {
    $("risk-note").textContent = risk.notes.join(" ");
    table($("table-risk"), risk.columns, risk.rows);
  });
  const conversations = await report("conversations", { limit: 50 });
  // A rating is shown as given; a prediction with decimals, in italics and labelled as such.
  const shown = conversations.rows.map((row) => ({ ...row, csat: row.csat === null ? null
    : row.csat_predicted ? `${Number(row.csat).toFixed(2)} (predicted)` : String(row.csat) }));
  table($("table-conversations"), conversations.columns.filter((c) => c.name !== "csat_predicted")
    .map((c) => (c.name === "csat" ? { ...c, kind: "text" } : c)), shown,
  (row, column) => (column.name === "csat" && row.csat_predicted ? "predicted" : ""));
  await loadVoices();
  $("status").textContent = `Updated in ${((performance.now() - started) / 1000).toFixed(1)} s` +
    (failed.length ? ` (could not draw: ${failed.join(", ")})` : "");
}

async function openTranscript(conversationId) {
  const dialog = $("transcript");
  $("transcript-title").textContent = `Conversation ${conversationId}`;
  $("transcript-summary").textContent = "Loading…";
  $("transcript-messages").replaceChildren();
  if (!dialog.open) dialog.showModal();
  const body = await api(`/api/analytics/conversations/${encodeURIComponent(conversationId)}`);
  const c = body.conversation;
  const rating = c.csat_rating !== null ? `CSAT ${c.csat_rating}`
    : c.predicted_csat !== null && c.predicted_csat !== undefined ? `CSAT ${fmt(c.predicted_csat, "float")} (predicted)` : "not rated";
  $("transcript-summary").textContent = [fmt(c.started_at, "datetime") + " UTC", word(c.channel),
    c.outcome ? word(c.outcome) : null, c.primary_intent ? `about ${word(c.primary_intent)}` : null,
    c.segment ? `segment ${word(c.segment)}` : "not signed in", rating,
    ...body.escalations.map((e) => `handed over: ${word(e.reason)} (${e.status})`)].filter(Boolean).join(" · ");
  const list = $("transcript-messages");
  for (const m of body.messages) {
    const li = document.createElement("li");
    li.className = `message ${m.sender}`;
    const meta = document.createElement("div");
    meta.className = "meta";
    const parts = [m.sender === "user" ? "Customer" : m.sender === "bot" ? "Bot" : "Agent", fmt(m.created_at, "datetime")];
    if (m.intent) parts.push(`${word(m.intent)} (${fmt(m.confidence, "rate")} sure)`);
    if (m.sentiment_label) parts.push(`${m.sentiment_label} ${fmt(m.sentiment_score, "float")}`);
    meta.textContent = parts.join(" · ");
    if (m.intent) meta.title = m.intent;
    const text = document.createElement("div");
    text.className = "text";
    text.textContent = m.text;
    li.append(meta, text);
    list.append(li);
  }
  if (body.truncated) {
    const li = document.createElement("li");
    li.className = "hint";
    li.textContent = "Only the first 500 messages are shown.";
    list.append(li);
  }
}

function transcriptFromHash() {
  const match = location.hash.match(/^#conversation=(.+)$/);
  if (match) openTranscript(decodeURIComponent(match[1])).catch(handleError);
}

async function refit() {
  $("refit").disabled = true;
  $("refit-status").textContent = "Fitting on the filtered conversations…";
  try {
    const response = await fetch(`/api/models/refit?${filterQuery()}`, { method: "POST", credentials: "same-origin" });
    const body = await response.json().catch(() => ({}));
    if (response.status === 401 || response.status === 403) throw new AuthError(response.status, body.error || "");
    if (!response.ok) throw new Error(body.error || `refit: HTTP ${response.status}`);
    state.refit = body;
    const q = body.drivers.meta.quality;
    $("refit-status").textContent = `Fitted on these filters: drivers on ${fmt(q.n, "int")} rated conversations` +
      ` (${q.usable ? "usable" : "not usable"}), segments on ${fmt(body.profiles.meta.n_rows, "int")} customers.` +
      " Not saved; the stored fits are unchanged.";
    $("refit-clear").hidden = false;
    driversChart(body.drivers);
    await loadAll();
  } catch (error) {
    if (!(error instanceof AuthError)) $("refit-status").textContent = "Could not refit: " + error.message;
    else handleError(error);
  } finally {
    $("refit").disabled = false;
  }
}

async function postJson(path, body) {
  const response = await fetch(path, { method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await response.json().catch(() => ({}));
  if (response.status === 401) throw new AuthError(401, data.error || "");
  if (!response.ok) throw new Error(data.error || `${path}: HTTP ${response.status}`);
  return data;
}

async function loadInbox() {
  $("inbox-status").textContent = "Grouping the messages…";
  const body = await api("/api/nlu-inbox");
  const list = $("inbox-groups");
  list.replaceChildren();
  $("inbox-status").textContent = body.groups.length
    ? `${fmt(body.messages, "int")} messages in ${fmt(body.groups.length, "int")} groups, biggest first.` +
      (body.can_label ? "" : " Labelling needs the admin role.")
    : "The inbox is empty: no unlabelled message the bot understood badly.";
  $("inbox-preview").hidden = $("inbox-write").hidden = !body.can_label;
  for (const group of body.groups.slice(0, 30)) {
    const li = document.createElement("li");
    li.className = "inbox-group";
    li.dataset.key = group.key;
    const head = document.createElement("div");
    head.className = "inbox-head";
    const predicted = group.predicted.map(([intent, n]) => `${word(intent || "none")} ${n}`).join(", ");
    head.textContent = `${group.count} message${group.count === 1 ? "" : "s"} (predicted: ${predicted})`;
    const texts = document.createElement("ul");
    texts.className = "inbox-texts";
    for (const m of group.messages.slice(0, 5)) {
      const item = document.createElement("li");
      item.append(transcriptLink(m.conversation_id, m.text));
      const why = document.createElement("span");
      why.className = "hint";
      why.textContent = ` ${m.why.replace(/_/g, " ")}${m.confidence === null ? "" : ", " + fmt(m.confidence, "rate") + " sure"}`;
      item.append(why);
      texts.append(item);
    }
    if (group.count > 5) {
      const more = document.createElement("li");
      more.className = "hint";
      more.textContent = `… and ${group.count - 5} more`;
      texts.append(more);
    }
    li.append(head, texts);
    if (body.can_label) li.append(labelControls(group, body.intents));
    list.append(li);
  }
}

function labelControls(group, intents) {
  const form = document.createElement("form");
  form.className = "inbox-label";
  const select = document.createElement("select");
  select.setAttribute("aria-label", "Intent for this group");
  for (const intent of intents) {
    const option = document.createElement("option");
    option.value = intent;
    option.textContent = word(intent);
    option.title = intent;
    select.append(option);
  }
  const guess = group.predicted.find(([intent]) => intents.includes(intent));
  if (guess) select.value = guess[0];
  const label = document.createElement("button");
  label.type = "submit";
  label.textContent = "Label";
  const outOfScope = document.createElement("button");
  outOfScope.type = "button";
  outOfScope.textContent = "Out of scope";
  const ids = group.messages.map((m) => m.message_id);
  const send = async (payload) => {
    const result = await postJson("/api/nlu-inbox/label", { message_ids: ids, ...payload });
    $("inbox-status").textContent = `Labelled ${result.labelled} messages ` +
      (result.out_of_scope ? "out of scope." : `as ${word(result.intent)}.`) + " Preview the export to see the training data.";
    form.closest("li").remove();
  };
  form.addEventListener("submit", (event) => { event.preventDefault(); send({ intent: select.value }).catch(inboxError); });
  outOfScope.addEventListener("click", () => send({ out_of_scope: true }).catch(inboxError));
  form.append(select, label, outOfScope);
  return form;
}

function inboxError(error) {
  if (error instanceof AuthError) { handleError(error); return; }
  $("inbox-status").textContent = "Error: " + error.message;
}

function showExport(result) {
  const diff = $("inbox-diff");
  diff.hidden = false;
  diff.textContent = result.diff || "No new examples to write.";
  const skipped = Object.entries(result.skipped).map(([why, n]) => `${n} not written (${why})`).join("; ");
  $("inbox-status").textContent = (result.written ? `Wrote ${result.examples} examples to ${result.path}. ${result.next}`
    : `${result.examples} new examples would be written.`) + (skipped ? ` ${skipped}.` : "");
}

function handleError(error) {
  if (error instanceof AuthError) {
    if (error.status === 401) { show("login-view"); return; }
    $("denied-text").textContent = error.message || "This account may not see analytics.";
    show("denied-view");
    return;
  }
  console.error(error.stack || error);
  $("status").textContent = "Error: " + error.message;
}

async function start() {
  try {
    const meta = await api("/api/reports");
    $("me").textContent = `${meta.user.username} (${meta.user.role})`;
    const form = $("filters");
    state.labels = meta.labels || {};
    for (const key of ["intent", "channel", "segment", "outcome"]) fillSelect(form.elements[key], meta.filters[key]);
    showModels(meta.models);
    show("dashboard-view");
    await loadAll();
    transcriptFromHash();
  } catch (error) {
    handleError(error);
  }
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("login-error").textContent = "";
  const response = await fetch("/auth/login", { method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username: $("login-username").value, password: $("login-password").value }) });
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    $("login-error").textContent = body.error || "Could not log in.";
    return;
  }
  $("login-password").value = "";
  start();
});

async function logout() {
  await fetch("/auth/logout", { method: "POST", credentials: "same-origin" });
  show("login-view");
}
$("logout").addEventListener("click", logout);
$("denied-logout").addEventListener("click", logout);
$("filters").addEventListener("submit", (event) => { event.preventDefault(); clearRefit(); loadAll().catch(handleError); });
function clearRefit() {
  // A refit belongs to the filters it was fitted on; new filters mean the stored fits again.
  if (!state.refit) return;
  state.refit = null;
  $("refit-clear").hidden = true;
  $("refit-status").textContent = "";
}
$("refit").addEventListener("click", () => refit());
$("refit-clear").addEventListener("click", () => { clearRefit(); loadAll().catch(handleError); });
$("transcript-close").addEventListener("click", () => $("transcript").close());
$("transcript").addEventListener("close", () => {
  if (location.hash.startsWith("#conversation=")) history.replaceState(null, "", location.pathname + location.search);
});
window.addEventListener("hashchange", transcriptFromHash);
$("inbox-load").addEventListener("click", () => loadInbox().catch(inboxError));
$("inbox-preview").addEventListener("click", () => api("/api/nlu-inbox/export").then(showExport).catch(inboxError));
$("inbox-write").addEventListener("click", () => postJson("/api/nlu-inbox/export").then(showExport).catch(inboxError));
$("filters").addEventListener("reset", () => { state.voicesIntent = null; clearRefit(); setTimeout(() => loadAll().catch(handleError), 0); });
start();
