-- alluse.dashboard: the live runner's page at `/` (issue #8; docs/live.md).
--
--   require("alluse.dashboard").route(srv)   -- GET / (and HEAD /) on an alluse.http_server
--   require("alluse.dashboard").page          -- the HTML, one self-contained string
--
-- The page carries no data: its script polls /api/v1/{status,accounts,positions,
-- orders,equity,events,weeks} and redraws, so `/` needs no token even when the API
-- does.  Everything is inline (CSS, script, the SVG chart) and nothing is fetched but
-- the API, so it works on a machine with no internet and the CSP can forbid the rest.
-- The CSP allows the inline style and script by their SHA-256 (computed here from the
-- very strings sent), not by 'unsafe-inline': an injected element would not run.
--
-- What the script does with data: every value goes into the page through textContent
-- or an attribute, never as markup, because account names, symbols and journal
-- fields come from the strategy and may read "<script>".  The chart is drawn into
-- SVG elements the markup already has, so the script creates no SVG nodes.
--
-- The token: a 401 from the API shows a field for it; the page keeps it in
-- sessionStorage (gone when the tab closes) and sends it as Authorization: Bearer.
-- A link may carry it as #token=... (the fragment never reaches a server); the
-- page stores it and takes it out of the address bar.  ?every=S sets the polling
-- period in seconds (1 by default, 0.2 to 3600).
local crypto = require("alluse.crypto")

local M = {}

local CSS = [==[
:root { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2330; background: #f4f5f7; }
body { margin: 0; }
[hidden] { display: none !important; }
header { display: flex; gap: 1em; align-items: center; padding: .6em 1.2em; background: #1d2330; color: #fff; }
header h1 { font-size: 1.1em; margin: 0; flex: 1; }
.pill { border-radius: 1em; padding: .1em .8em; font-size: .85em; background: #6b7280; color: #fff; }
.pill.live, .pill.running { background: #1a7f37; }
.pill.down, .pill.halted { background: #c62828; }
.pill.paused, .pill.stopping { background: #b26a00; }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 1em; padding: 1em; }
body.stale main { opacity: .5; }
section { background: #fff; border: 1px solid #dde1e7; border-radius: 6px; padding: .6em 1em; overflow: auto; max-height: 26em; }
section.wide { grid-column: 1 / -1; max-height: none; }
h2 { font-size: 1em; margin: .2em 0 .6em; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: .2em .6em; border-bottom: 1px solid #eef0f3; white-space: nowrap; }
th { color: #556; font-weight: 600; }
.num { text-align: right; }
td.empty { color: #889; font-style: italic; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2em 1.2em; margin: 0; }
dt { color: #556; }
dd { margin: 0; }
#auth { margin: 1em; padding: 1em; background: #fff4e5; border: 1px solid #f0c36d; border-radius: 6px; }
#auth input { width: 24em; }
svg { width: 100%; height: auto; display: block; }
#eq-line { fill: none; stroke: #1f5fbf; stroke-width: 1.5; }
.axis { stroke: #9aa1ad; stroke-width: 1; }
svg text { font-size: 12px; fill: #556; }
]==]

local JS = [==[
"use strict";
const TOKEN_KEY = "alluse.api_token";
const $ = (id) => document.getElementById(id);
class Unauthorized extends Error {}

// ?every=S: seconds between polls.
function pollPeriodMs() {
  const s = Number(new URLSearchParams(location.search).get("every"));
  return s >= 0.2 && s <= 3600 ? s * 1000 : 1000;
}

// A link's #token=... goes to sessionStorage and out of the address bar (and history).
function takeTokenFromFragment() {
  const m = /^#token=(.+)$/.exec(location.hash);
  if (!m) return;
  sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
  history.replaceState(null, "", location.pathname + location.search);
}

async function getJSON(path) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const headers = token ? { Authorization: "Bearer " + token } : {};
  const res = await fetch(path, { headers, cache: "no-store" });
  if (res.status === 401) throw new Unauthorized(token ? "The token was refused." : "This server's API needs a token.");
  if (!res.ok) throw new Error(path + ": HTTP " + res.status);
  return res.json();
}

const dollars = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });
const wholeDollars = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", maximumFractionDigits: 0 });
const money = (v) => (typeof v === "number" ? dollars.format(v) : "—");
const text = (v) => (v === null || v === undefined || v === "" ? "—" : String(v));

function cell(tag, value, cls) {
  const c = document.createElement(tag);
  c.textContent = value;
  if (cls) c.className = cls;
  return c;
}

// columns: [title, (row) => text, "num" or undefined]
function fillTable(id, columns, rows, emptyText) {
  const head = document.createElement("tr");
  for (const [title, , cls] of columns) head.append(cell("th", title, cls));
  $(id).tHead.replaceChildren(head);
  const body = $(id).tBodies[0];
  body.replaceChildren();
  for (const r of rows) {
    const tr = document.createElement("tr");
    for (const [, show, cls] of columns) tr.append(cell("td", show(r), cls));
    body.append(tr);
  }
  if (rows.length === 0) {
    const tr = document.createElement("tr");
    const td = cell("td", emptyText, "empty");
    td.colSpan = columns.length;
    tr.append(td);
    body.append(tr);
  }
}

const runState = (s) => (s.halted ? "halted" : s.stopping ? "stopping" : s.paused ? "paused" : "running");

function drawStatus(s) {
  for (const k of ["strategy", "feed", "speed", "date", "days", "run_id"]) $("st-" + k).textContent = text(s[k]);
  const state = runState(s);
  $("st-state").textContent = state;
  $("st-state").className = "pill " + state;
  $("strategy-name").textContent = text(s.strategy);
  document.title = "alluse — " + text(s.strategy);
}

const field = (k) => (r) => text(r[k]);
const moneyField = (k) => (r) => money(r[k]);

function drawAccounts(rows) {
  fillTable("accounts", [["name", field("name")], ["parent", field("parent")], ["status", field("status")],
    ["cash", moneyField("cash"), "num"], ["equity", moneyField("equity"), "num"]], rows, "no accounts yet");
}

function drawPositions(rows) {
  fillTable("positions", [["account", field("account")], ["symbol", field("symbol")], ["qty", field("qty"), "num"],
    ["avg cost", moneyField("avg_cost"), "num"], ["mark", moneyField("mark"), "num"],
    ["value", moneyField("value"), "num"]], rows, "no open positions");
}

function drawOrders(rows) {
  fillTable("orders", [["created", field("created")], ["account", field("account")], ["symbol", field("symbol")],
    ["side", field("side")], ["qty", field("qty"), "num"], ["type", field("type")], ["status", field("status")],
    ["filled", field("filled_qty"), "num"], ["avg price", moneyField("avg_price"), "num"], ["reason", field("reason")]],
    rows.slice().reverse(), "no orders yet");
}

// A journal row's fields beyond the ones with columns, as "k=v k=v".
function details(row, shown) {
  return Object.keys(row).filter((k) => !shown.includes(k)).sort().map((k) => k + "=" + row[k]).join(" ");
}

function drawJournal(id, lead, rows, emptyText) {
  const shown = ["time", ...lead];
  const columns = shown.map((k) => [k, field(k)]);
  columns.push(["details", (r) => details(r, shown)]);
  fillTable(id, columns, rows.slice().reverse(), emptyText);
}

const CHART = { width: 800, height: 260, left: 84, right: 12, top: 12, bottom: 28 };

function extent(values) {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) { if (v < lo) lo = v; if (v > hi) hi = v; }
  return lo < hi ? [lo, hi] : [lo - 1, hi + 1];
}

function drawEquity(points) {
  const line = $("eq-line");
  line.dataset.points = String(points.length);
  if (points.length === 0) { line.setAttribute("points", ""); return; }
  const [lo, hi] = extent(points.map((p) => p.equity));
  const c = CHART, w = c.width - c.left - c.right, h = c.height - c.top - c.bottom;
  const x = (i) => c.left + (points.length > 1 ? (i * w) / (points.length - 1) : w / 2);
  const y = (v) => c.top + ((hi - v) * h) / (hi - lo);
  line.setAttribute("points", points.map((p, i) => x(i).toFixed(1) + "," + y(p.equity).toFixed(1)).join(" "));
  $("eq-ymax").textContent = wholeDollars.format(hi);
  $("eq-ymid").textContent = wholeDollars.format((hi + lo) / 2);
  $("eq-ymin").textContent = wholeDollars.format(lo);
  $("eq-x0").textContent = points[0].date;
  $("eq-x1").textContent = points[points.length - 1].date;
}

// The chart shows the last 1,500 days: a bounded answer each second, however long the run.
const ENDPOINTS = ["status", "accounts", "positions", "orders", "equity?limit=1500", "events?limit=50",
  "weeks?limit=50"];

async function refresh() {
  const [status, accounts, positions, orders, equity, events, weeks] =
    await Promise.all(ENDPOINTS.map((e) => getJSON("/api/v1/" + e)));
  drawStatus(status);
  drawAccounts(accounts);
  drawPositions(positions);
  drawOrders(orders);
  drawEquity(equity);
  drawJournal("events", ["kind", "account", "ticker", "severity"], events, "no protocol events");
  drawJournal("weeks", ["week", "account", "ticker", "type"], weeks, "no weeks recorded");
}

function showConnection(live, message) {
  $("conn").textContent = message;
  $("conn").className = "pill " + (live ? "live" : "down");
  document.body.classList.toggle("stale", !live);
}

function showAuth(message) {
  $("auth-msg").textContent = message;
  $("auth").hidden = false;
}

let busy = false;
async function poll() {
  if (busy) return;
  busy = true;
  try {
    await refresh();
    $("auth").hidden = true;
    showConnection(true, "live · " + new Date().toLocaleTimeString());
  } catch (e) {
    if (e instanceof Unauthorized) { showAuth(e.message); showConnection(false, "needs a token"); }
    else showConnection(false, "disconnected (" + e.message + "), retrying");
  } finally {
    busy = false;
    setTimeout(poll, pollPeriodMs());
  }
}

function onTokenSubmit(ev) {
  ev.preventDefault();
  const token = $("token").value.trim();
  $("token").value = "";
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  poll();
}

takeTokenFromFragment();
$("auth").addEventListener("submit", onTokenSubmit);
poll();
]==]

-- The markup around them: empty tables and chart elements the script fills.
local BODY = [==[
<header><h1>alluse · <span id="strategy-name">…</span></h1><span id="conn" class="pill">connecting</span></header>
<form id="auth" hidden>
<p id="auth-msg"></p>
<label>API token (ALLUSE_API_TOKEN) <input id="token" type="password" autocomplete="off"></label>
<button type="submit">Use</button>
<p>The token is kept in this tab's sessionStorage only.</p>
</form>
<main>
<section id="status"><h2>Status</h2><dl>
<dt>strategy</dt><dd id="st-strategy">—</dd><dt>state</dt><dd><span id="st-state" class="pill">—</span></dd>
<dt>date</dt><dd id="st-date">—</dd><dt>days</dt><dd id="st-days">—</dd>
<dt>feed</dt><dd id="st-feed">—</dd><dt>speed</dt><dd id="st-speed">—</dd><dt>run id</dt><dd id="st-run_id">—</dd>
</dl></section>
<section><h2>Accounts</h2><table id="accounts"><thead></thead><tbody></tbody></table></section>
<section class="wide"><h2>Equity (all accounts)</h2>
<svg id="equity" viewBox="0 0 800 260" role="img" aria-label="equity chart">
<line class="axis" x1="84" y1="12" x2="84" y2="232"/><line class="axis" x1="84" y1="232" x2="788" y2="232"/>
<text id="eq-ymax" x="78" y="16" text-anchor="end"></text><text id="eq-ymid" x="78" y="126" text-anchor="end"></text>
<text id="eq-ymin" x="78" y="236" text-anchor="end"></text>
<text id="eq-x0" x="84" y="252"></text><text id="eq-x1" x="788" y="252" text-anchor="end"></text>
<polyline id="eq-line" points="" data-points="0"/>
</svg></section>
<section><h2>Open positions</h2><table id="positions"><thead></thead><tbody></tbody></table></section>
<section><h2>Recent orders</h2><table id="orders"><thead></thead><tbody></tbody></table></section>
<section><h2>Protocol events</h2><table id="events"><thead></thead><tbody></tbody></table></section>
<section><h2>Weeks</h2><table id="weeks"><thead></thead><tbody></tbody></table></section>
</main>
]==]

M.page = table.concat {
  '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n',
  '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
  '<link rel="icon" href="data:,">\n<title>alluse</title>\n',
  "<style>", CSS, "</style>\n</head><body>\n", BODY, "<script>", JS, "</script>\n</body></html>\n",
}

-- 'sha256-...' of an inline element's exact text, as CSP matches it.
local function csp_hash(s)
  return "'sha256-" .. crypto.base64(crypto.sha256(s)) .. "'"
end

M.headers = {
  ["Content-Type"] = "text/html; charset=utf-8",
  ["Content-Security-Policy"] = "default-src 'none'; script-src " .. csp_hash(JS) .. "; style-src " .. csp_hash(CSS)
    .. "; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  ["X-Content-Type-Options"] = "nosniff",
  ["Cache-Control"] = "no-store",
  ["Referrer-Policy"] = "no-referrer",
}

-- GET / on srv (an alluse.http_server); HEAD comes with it.  No token: no data here.
function M.route(srv)
  srv:route("GET", "/", function() return 200, M.headers, M.page end)
  return srv
end

return M
