// samestory web page: story list, story page, side-by-side comparison. Plain JS, no build step.
"use strict";
const main = document.getElementById("main");

function esc(s) {
  return String(s == null ? "" : s).replace(/[&<>"']/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
}

// An article's url as a link target only when it is http(s): a stored "javascript:" or "data:" url must not run.
function safeUrl(u) {
  try { const p = new URL(String(u)); return p.protocol === "http:" || p.protocol === "https:" ? p.href : null; } catch (e) { return null; }
}

async function api(path, options) {
  const res = await fetch(path, options);
  let body = null;
  try { body = await res.json(); } catch (e) { body = {error: "the server answered " + res.status}; }
  if (!res.ok) throw new Error(body && body.error ? body.error : "error " + res.status);
  return body;
}

function fail(err) { main.innerHTML = `<p class="error">${esc(err.message || err)}</p>`; }

async function showList(params) {
  const q = params.get("q") || "", sort = params.get("sort") || "newest", page = params.get("page") || "1";
  document.getElementById("q").value = q;
  document.getElementById("sort").value = sort;
  const data = await api(`/api/stories?${new URLSearchParams({q, sort, page, per_page: "20"})}`);
  const items = data.stories.map(s => `
    <li class="story-item">
      <a href="#/story/${encodeURIComponent(s.story)}">${esc(s.headline || "(no headline)")}</a>
      <div class="meta">${esc(s.first_seen)}${s.last_seen !== s.first_seen ? " – " + esc(s.last_seen) : ""} ·
        ${s.size} article${s.size === 1 ? "" : "s"} · ${s.sources.map(x => `<span class="source">${esc(x)}</span>`).join(" ")}</div>
      <div>${esc(s.summary)}</div>
    </li>`).join("");
  const nav = (p) => `#/?${new URLSearchParams({q, sort, page: String(p)})}`;
  main.innerHTML = `
    <h1>Stories</h1>
    <p class="meta">${data.total} stor${data.total === 1 ? "y" : "ies"}${q ? ` matching “${esc(q)}”` : ""}</p>
    <ul class="stories">${items || '<li class="muted">No story yet. Add articles with POST /api/articles.</li>'}</ul>
    <div class="pager">${data.page > 1 ? `<a href="${nav(data.page - 1)}">← newer</a>` : ""}
      <span class="meta">page ${data.page} of ${data.pages}</span>
      ${data.page < data.pages ? `<a href="${nav(data.page + 1)}">older →</a>` : ""}</div>`;
}

async function showStory(id) {
  const s = await api(`/api/stories/${encodeURIComponent(id)}`);
  const v = s.view;
  const names = ["people", "places", "organisations"].filter(k => v.names[k] && v.names[k].length)
    .map(k => `<tr><th>${k[0].toUpperCase() + k.slice(1)}</th><td>${v.names[k].map(n => esc(n.name)).join(", ")}</td></tr>`).join("");
  const first = v.timeline.length ? v.timeline[0].id : null;
  const timeline = v.timeline.map(t => `<tr><td>${esc(t.date || "(no date)")}</td><td>${esc(t.source)}</td>
      <td>${safeUrl(t.url) ? `<a href="${esc(safeUrl(t.url))}" rel="noopener noreferrer">${esc(t.title || "(no title)")}</a>` : esc(t.title || "(no title)")}</td>
      <td>${first && t.id !== first ? `<a class="compare-link" href="#/compare/${encodeURIComponent(first)}/${encodeURIComponent(t.id)}">compare with the first</a>` : ""}</td></tr>`).join("");
  const adds = v.adds.map(a => `<div class="adds"><strong>${esc(a.source)}</strong>
      <span class="meta">${esc(a.title || "")}</span>
      ${a.sentences.length ? `<ul>${a.sentences.map(x => `<li>${esc(x.text)}</li>`).join("")}</ul>` : '<p class="muted">Nothing the others do not say.</p>'}</div>`).join("");
  const differs = v.disagreements.map(d => `<li><strong>${esc(d.kind)}</strong>: ${esc(d.a.source)} says <em>${esc(d.a.values.join(", "))}</em>,
      ${esc(d.b.source)} says <em>${esc(d.b.values.join(", "))}</em>
      <div class="meta">${esc(d.a.source)}: ${esc(d.a.text)}<br>${esc(d.b.source)}: ${esc(d.b.text)}</div></li>`).join("");
  main.innerHTML = `
    <p><a href="#/">← all stories</a></p>
    <h1 id="headline">${esc(v.headline || "(no headline)")}</h1>
    <p class="meta">${esc(s.first_seen)} – ${esc(s.last_seen)} · ${s.size} article${s.size === 1 ? "" : "s"}</p>
    <h2>Summary</h2>
    <ul class="summary" id="summary">${v.summary.map(x => `<li>${esc(x.text)} <span class="meta">[${esc(x.source)}]</span></li>`).join("")}</ul>
    <h2>Timeline</h2>
    <table id="timeline"><tr><th>Date</th><th>Source</th><th>Title</th><th></th></tr>${timeline}</table>
    <h2>Sources and names</h2>
    <table><tr><th>Sources</th><td>${(v.sources.length ? v.sources : v.timeline.map(t => t.source)).map(x => `<span class="source">${esc(x)}</span>`).join(" ")}</td></tr>${names}</table>
    ${v.adds.length ? `<h2>What each source adds</h2><div id="adds">${adds}</div>` : ""}
    ${v.disagreements.length ? `<h2>Where sources differ</h2><ul class="differs" id="differs">${differs}</ul>` : ""}`;
}

function highlight(text, ranges) {
  ranges = ranges.slice().sort((x, y) => x[0] - y[0]);
  let out = "", pos = 0;
  for (const [s, e] of ranges) {
    if (e <= pos) continue;
    const start = Math.max(s, pos);
    out += esc(text.slice(pos, start)) + `<mark class="shared">${esc(text.slice(start, e))}</mark>`;
    pos = e;
  }
  return out + esc(text.slice(pos));
}

async function showCompare(a, b) {
  main.innerHTML = '<p class="muted">Comparing…</p>';
  const v = await api("/api/compare", {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({a_id: a, b_id: b})});
  const [x, y] = v.articles;
  const pa = v.shared_passages.map(p => [p.a_start, p.a_end]), pb = v.shared_passages.map(p => [p.b_start, p.b_end]);
  main.innerHTML = `
    <p><a href="#/" id="back">← back</a></p>
    <h1>Side by side</h1>
    <div class="verdict" id="verdict">Same story: <strong>${v.same_story ? "yes" : "no"}</strong> (probability ${v.probability.toFixed(2)},
      overall ${v.overall.toFixed(2)} on 1 = same story … 4 = unrelated) · near-copy: <strong>${v.near_duplicate ? "yes" : "no"}</strong>
      (Jaccard ${v.jaccard.toFixed(3)}) · <span id="passage-count">${v.shared_passages.length}</span> shared passage${v.shared_passages.length === 1 ? "" : "s"} highlighted</div>
    <div class="side-by-side">
      <article id="article-a"><h3>${esc(x.title || "(no title)")}</h3><div class="meta">${esc(x.source || "")} ${esc(x.date || "")}</div>${highlight(x.text, pa)}</article>
      <article id="article-b"><h3>${esc(y.title || "(no title)")}</h3><div class="meta">${esc(y.source || "")} ${esc(y.date || "")}</div>${highlight(y.text, pb)}</article>
    </div>`;
  document.getElementById("back").addEventListener("click", ev => { ev.preventDefault(); history.back(); });
}

async function route() {
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, query] = hash.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  try {
    if (parts[0] === "story" && parts[1]) await showStory(parts[1]);
    else if (parts[0] === "compare" && parts[1] && parts[2]) await showCompare(parts[1], parts[2]);
    else await showList(new URLSearchParams(query || ""));
  } catch (err) { fail(err); }
  document.body.dataset.ready = "1";
}

document.getElementById("search").addEventListener("submit", ev => {
  ev.preventDefault();
  location.hash = "#/?" + new URLSearchParams({q: document.getElementById("q").value, sort: document.getElementById("sort").value});
});
window.addEventListener("hashchange", () => { document.body.dataset.ready = ""; route(); });
route();
