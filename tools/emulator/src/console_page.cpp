#include "console_page.hpp"

namespace experiture {
namespace emulator {

namespace {

// Kept in one raw string so the binary needs nothing at run time. Element ids are used by
// tests/emulator/browser (fault-kind, fault-apply, log-rows).
const char kPage[] = R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>experiture-emulator</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<style>
body{font:13px/1.4 system-ui,sans-serif;margin:0;color:#222;background:#f6f7f9}
header{background:#1d2b3a;color:#fff;padding:8px 14px;display:flex;gap:16px;align-items:center;flex-wrap:wrap}
header h1{font-size:16px;margin:0}
header .stat b{font-size:14px}
main{display:grid;grid-template-columns:minmax(420px,1fr) minmax(420px,1fr);gap:12px;padding:12px}
section{background:#fff;border:1px solid #d8dce2;border-radius:6px;padding:8px 10px;min-width:0}
section.wide{grid-column:1/3}
h2{font-size:14px;margin:2px 0 8px}
table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid #eceef1;padding:3px 5px;text-align:left;vertical-align:top;font-size:12px}
th{background:#f0f2f5;position:sticky;top:0}
td.mono,.mono{font-family:ui-monospace,monospace;font-size:11px;word-break:break-all}
.scroll{max-height:460px;overflow:auto}
tr.row{cursor:pointer}tr.row:hover{background:#f3f7ff}
.s2{color:#17823b;font-weight:600}.s4{color:#b25b00;font-weight:600}.s5,.s0{color:#c0262d;font-weight:600}
.tag{display:inline-block;border-radius:3px;padding:0 4px;margin-right:3px;font-size:11px;background:#e6e9ee}
.tag.replay{background:#dbeafe}.tag.fault{background:#fde2e2}.tag.rej{background:#fff1c2}
pre{background:#f7f7f9;border:1px solid #e4e6ea;padding:6px;max-height:180px;overflow:auto;white-space:pre-wrap;word-break:break-all;font-size:11px;margin:4px 0}
button{font:inherit;padding:2px 8px;cursor:pointer}
input,select{font:inherit}
.bar{display:flex;gap:6px;align-items:center;flex-wrap:wrap;margin-bottom:6px}
.muted{color:#777}
del{color:#999}
#reset{background:#c0262d;color:#fff;border:0;border-radius:3px}
</style></head><body>
<header><h1>experiture-emulator</h1>
<span class="stat">requests <b id="c-requests">0</b></span>
<span class="stat">records applied <b id="c-applied">0</b></span>
<span class="stat">replays <b id="c-replays">0</b></span>
<span class="stat">resets <b id="c-resets">0</b></span>
<span class="stat">profiles <b id="c-profiles">0</b></span>
<span class="stat">events <b id="c-events">0</b></span>
<span class="stat muted" id="c-clock"></span>
<span style="flex:1"></span>
<button id="reset" title="POST /_emulator/reset: drops profiles, events, keys, counters, faults">Reset emulator</button>
</header>
<main>
<section class="wide"><h2>Requests <span class="muted" id="log-note">(live; click a row for bodies)</span></h2>
<div class="bar"><label><input type="checkbox" id="log-pause"> pause</label>
<span class="muted">statuses:</span><span id="c-statuses" class="mono"></span>
<span class="muted">rejects:</span><span id="c-rejects" class="mono"></span></div>
<div class="scroll"><table><thead><tr><th>#</th><th>time</th><th>endpoint</th><th>Idempotency-Key</th><th>status</th><th>ms</th><th>records</th><th>notes</th></tr></thead>
<tbody id="log-rows"></tbody></table></div></section>
<section><h2>Faults</h2>
<div class="bar">
<select id="fault-kind"><option>503</option><option>500</option><option>502</option><option>504</option><option value="429">429 + Retry-After</option><option>409</option><option>reset_before</option><option>reset_after</option><option value="delay">delay (latency)</option><option>token_expire</option></select>
<label>for next <input id="fault-count" type="number" min="1" value="1" style="width:4em"> requests</label>
<label>or probability <input id="fault-prob" type="number" min="0" max="1" step="0.05" placeholder="-" style="width:4.5em"></label>
<label>Retry-After s <input id="fault-retry" type="number" min="0" value="2" style="width:3.5em"></label>
<label>delay ms <input id="fault-delay" type="number" min="0" value="500" style="width:4.5em"></label>
<button id="fault-apply">Inject</button><button id="fault-clear">Clear faults</button></div>
<div class="muted">current script</div><pre id="fault-script">{}</pre>
<div class="muted">faults injected: <span id="c-faults" class="mono"></span></div>
</section>
<section><h2>Events (append)</h2>
<div class="bar"><select id="ev-object"><option value="">all objects</option></select>
<button id="ev-prev">&lsaquo;</button><span id="ev-range" class="muted"></span><button id="ev-next">&rsaquo;</button></div>
<div class="scroll"><table><thead><tr><th>seq</th><th>object</th><th>received</th><th>fields</th><th>Idempotency-Key</th></tr></thead><tbody id="ev-rows"></tbody></table></div>
</section>
<section class="wide"><h2>Profiles</h2>
<div class="bar"><select id="pr-object"><option>profiles</option></select>
<input id="pr-q" type="search" placeholder="search any identifier (email, customer_id, device_id...)" style="width:24em">
<button id="pr-prev">&lsaquo;</button><span id="pr-range" class="muted"></span><button id="pr-next">&rsaquo;</button></div>
<div class="scroll"><table><thead><tr><th>id</th><th>identifiers</th><th>fields</th><th>writes</th><th>updated</th></tr></thead><tbody id="pr-rows"></tbody></table></div>
<div id="timeline"></div>
</section>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const PAGE = 50;
let lastLogId = 0, prOffset = 0, evOffset = 0, lastProfiles = -1, lastEvents = -1;
function esc(v) { return String(v).replace(/[&<>"]/g, (c) => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;"}[c])); }
function short(v, n) { v = typeof v === "string" ? v : JSON.stringify(v); return v.length > n ? v.slice(0, n) + "\u2026" : v; }
async function getJson(url) { const r = await fetch(url, {cache: "no-store"}); return r.json(); }
async function post(url, body) {
  const r = await fetch(url, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body || {})});
  return r.json();
}
function pretty(text) { try { return JSON.stringify(JSON.parse(text), null, 2); } catch (e) { return text; } }
function kv(map) { return Object.keys(map || {}).map((k) => k + ":" + map[k]).join(" ") || "-"; }

async function refreshSummary() {
  const s = await getJson("/_emulator/api/summary");
  const c = s.counters;
  $("c-requests").textContent = c.requests; $("c-applied").textContent = c.records_applied;
  $("c-replays").textContent = c.replays; $("c-resets").textContent = c.resets;
  const profiles = s.profiles.profiles || 0;
  $("c-profiles").textContent = profiles; $("c-events").textContent = s.events;
  $("c-clock").textContent = "clock " + s.clock + " \u00b7 batch mode " + s.batch_mode;
  $("c-statuses").textContent = kv(c.statuses); $("c-rejects").textContent = kv(c.rejects);
  $("c-faults").textContent = kv(c.faults);
  $("fault-script").textContent = JSON.stringify(s.fault_script);
  const sel = $("pr-object"), names = Object.keys(s.profiles);
  if (names.length && names.join() !== Array.from(sel.options).map((o) => o.value).join()) {
    const cur = sel.value; sel.innerHTML = names.map((n) => "<option>" + esc(n) + "</option>").join("");
    if (names.includes(cur)) sel.value = cur;
  }
  const total = Object.values(s.profiles).reduce((a, b) => a + b, 0);
  if (total !== lastProfiles && prOffset === 0 && !$("pr-q").value) { lastProfiles = total; refreshProfiles(); }
  if (s.events !== lastEvents && evOffset === 0) { lastEvents = s.events; refreshEvents(); }
}

function logRow(e) {
  const tr = document.createElement("tr");
  tr.className = "row"; tr.dataset.id = e.id; tr.dataset.status = e.status;
  let notes = "";
  if (e.replay) notes += '<span class="tag replay">replay</span>';
  if (e.fault) notes += '<span class="tag fault">fault ' + esc(e.fault) + "</span>";
  const records = e.rejected.filter((r) => r.index !== undefined), whole = e.rejected.filter((r) => r.index === undefined);
  if (records.length) notes += '<span class="tag rej">' + records.length + " rejected</span>" +
    records.slice(0, 3).map((r) => esc("#" + r.index + " " + r.code)).join(", ") + " ";
  if (whole.length) notes += '<span class="tag rej">error</span>' + esc(whole[0].code);
  const status = e.status === 0 ? "reset" : e.status;
  tr.innerHTML = "<td>" + e.id + "</td><td>" + esc(e.at.slice(11, 23)) + "</td><td class=mono>" + esc(e.method + " " + e.path.replace("/public/v1", "")) +
    "</td><td class=mono>" + esc(e.idempotency_key || "-") + '</td><td class="s' + String(e.status)[0] + '">' + status +
    "</td><td>" + e.latency_ms.toFixed(1) + "</td><td>" + e.records + "</td><td>" + notes + "</td>";
  tr.addEventListener("click", () => toggleLog(tr, e.id));
  return tr;
}
async function toggleLog(tr, id) {
  const next = tr.nextSibling;
  if (next && next.classList && next.classList.contains("detail")) { next.remove(); return; }
  const d = await getJson("/_emulator/api/log/" + id);
  const row = document.createElement("tr"); row.className = "detail";
  let html = "";
  if (d.error) html = esc(d.error); else {
    if (d.rejected.length) html += "<b>rejected</b><pre>" + esc(d.rejected.map((r) => (r.index !== undefined ? "records[" + r.index + "] " : "") + r.code + ": " + r.message).join("\n")) + "</pre>";
    html += "<b>request</b> (" + d.request_bytes + " bytes" + (d.truncated ? ", first 64 KiB shown" : "") + ")<pre>" + esc(pretty(d.request_body)) + "</pre>";
    html += "<b>response</b><pre>" + esc(pretty(d.response_body) || "(connection reset, no response)") + "</pre>";
  }
  row.innerHTML = '<td colspan="8">' + html + "</td>";
  tr.after(row);
}
async function refreshLog() {
  if ($("log-pause").checked) return;
  const d = await getJson("/_emulator/api/log?after=" + lastLogId + "&limit=200");
  if (d.last_id < lastLogId) { $("log-rows").innerHTML = ""; lastLogId = 0; return; }
  const body = $("log-rows");
  for (let i = d.entries.length - 1; i >= 0; i--) body.insertBefore(logRow(d.entries[i]), body.firstChild);
  while (body.children.length > 500) body.lastChild.remove();
  lastLogId = d.last_id;
}

async function refreshProfiles() {
  const q = $("pr-q").value.trim(), object = $("pr-object").value || "profiles";
  const d = await getJson("/_emulator/api/profiles?object=" + encodeURIComponent(object) + "&offset=" + prOffset + "&limit=" + PAGE + "&q=" + encodeURIComponent(q));
  const shown = d.profiles.length;
  $("pr-range").textContent = shown ? (d.offset + 1) + "\u2013" + (d.offset + shown) + " of " + d.matched + (q ? " matching (" + d.total + " in all)" : "") : (q ? "no match" : "none yet");
  $("pr-rows").innerHTML = d.profiles.map((p) => '<tr class="row" data-id="' + p.id + '"><td>' + p.id + "</td><td class=mono>" +
    esc(Object.keys(p.identifiers).map((k) => k + "=" + p.identifiers[k].join(",")).join(" ")) + "</td><td class=mono>" + esc(short(p.fields, 160)) +
    "</td><td>" + p.write_count + "</td><td>" + esc(p.updated_at) + "</td></tr>").join("");
  for (const tr of $("pr-rows").children) tr.addEventListener("click", () => showTimeline(object, tr.dataset.id));
}
async function showTimeline(object, id) {
  const p = await getJson("/_emulator/api/profile?object=" + encodeURIComponent(object) + "&id=" + id);
  if (p.error) { $("timeline").innerHTML = "<p>" + esc(p.error) + "</p>"; return; }
  const winner = {};
  for (const w of p.writes) for (const f of Object.keys(w.set)) winner[f] = w.seq;
  let html = "<h2>Profile " + p.id + " timeline</h2><p class=muted>Each write (in arrival order) and the fields it set; last write wins per field. Struck values were overwritten by a later write; the current value of each field is in bold. Writes merged in from another row keep their own sequence numbers.</p>";
  html += "<table><tr><th>write seq</th><th>time</th><th>Idempotency-Key</th><th>fields set</th></tr>";
  for (const w of p.writes) {
    html += "<tr><td>" + w.seq + "</td><td>" + esc(w.at || "") + "</td><td class=mono>" + esc(w.idempotency_key || "-") + "</td><td class=mono>" +
      Object.keys(w.set).map((f) => { const v = esc(f + "=" + JSON.stringify(w.set[f])); return winner[f] === w.seq ? "<b>" + v + "</b>" : "<del>" + v + "</del>"; }).join(" ") + "</td></tr>";
  }
  html += "</table><b>current fields</b><pre>" + esc(JSON.stringify(p.fields, null, 2)) + "</pre>";
  $("timeline").innerHTML = html;
}
async function refreshEvents() {
  const object = $("ev-object").value;
  const d = await getJson("/_emulator/api/events?object=" + encodeURIComponent(object) + "&offset=" + evOffset + "&limit=" + PAGE);
  const sel = $("ev-object"), names = [""].concat(Object.keys(d.objects));
  if (names.join() !== Array.from(sel.options).map((o) => o.value).join()) {
    sel.innerHTML = names.map((n) => '<option value="' + esc(n) + '">' + (n ? esc(n) + " (" + d.objects[n] + ")" : "all objects") + "</option>").join("");
    sel.value = object;
  }
  const shown = d.events.length;
  $("ev-range").textContent = shown ? (d.offset + 1) + "\u2013" + (d.offset + shown) + " of " + d.total : "none yet";
  $("ev-rows").innerHTML = d.events.map((e) => "<tr><td>" + e.seq + "</td><td>" + esc(e.object) + "</td><td>" + esc(e.received_at) +
    "</td><td class=mono>" + esc(short(e.fields, 200)) + "</td><td class=mono>" + esc(e.idempotency_key || "-") + "</td></tr>").join("");
}

$("fault-apply").addEventListener("click", async () => {
  const kind = $("fault-kind").value, entry = {kind: kind};
  if (kind === "429") entry.retry_after = Number($("fault-retry").value) || 0;
  if (kind === "delay") entry.delay_ms = Number($("fault-delay").value) || 0;
  const p = $("fault-prob").value;
  const script = p !== "" ? {probabilities: {[kind]: Number(p)}, retry_after: entry.retry_after || 1, delay_ms: entry.delay_ms || 100}
                          : {sequence: Array(Math.max(1, Number($("fault-count").value) || 1)).fill(entry)};
  const r = await post("/_emulator/faults", script);
  $("fault-script").textContent = JSON.stringify(r);
  $("fault-apply").dataset.applied = String(Number($("fault-apply").dataset.applied || 0) + 1);
});
$("fault-clear").addEventListener("click", async () => { $("fault-script").textContent = JSON.stringify(await post("/_emulator/faults", {})); });
$("reset").addEventListener("click", async () => {
  if (!confirm("Reset the emulator? Profiles, events, keys, counters and faults are dropped.")) return;
  await post("/_emulator/reset"); lastLogId = 0; $("log-rows").innerHTML = ""; $("timeline").innerHTML = ""; prOffset = evOffset = 0; lastProfiles = lastEvents = -1; refreshSummary();
});
$("pr-q").addEventListener("input", () => { prOffset = 0; refreshProfiles(); });
$("pr-object").addEventListener("change", () => { prOffset = 0; refreshProfiles(); });
$("pr-prev").addEventListener("click", () => { prOffset = Math.max(0, prOffset - PAGE); refreshProfiles(); });
$("pr-next").addEventListener("click", () => { prOffset += PAGE; refreshProfiles(); });
$("ev-object").addEventListener("change", () => { evOffset = 0; refreshEvents(); });
$("ev-prev").addEventListener("click", () => { evOffset = Math.max(0, evOffset - PAGE); refreshEvents(); });
$("ev-next").addEventListener("click", () => { evOffset += PAGE; refreshEvents(); });
function loop(fn, ms) { const run = async () => { try { await fn(); } catch (e) {} setTimeout(run, ms); }; run(); }
loop(refreshLog, 1000);
loop(refreshSummary, 2000);
</script></body></html>
)HTML";

}  // namespace

const char* console_page_html() {
  return kPage;
}

}  // namespace emulator
}  // namespace experiture
