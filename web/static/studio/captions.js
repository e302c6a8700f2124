// The studio's caption editor (/studio/recordings/{id}/captions): a track's cues beside the
// player. Cues are read in source time from the subtitle API (as WebVTT), shown and edited in the
// replay's time (the player's clock) through the recording's kept spans, and saved back in source
// time with PUT; cues whose times were not touched keep their source times exactly, and cues in
// removed material are kept as they are. The checks are the server's (a cue ends after it
// starts, not before 0) plus an empty text; overlaps are allowed (WebVTT stacks them) but shown.
const root = document.getElementById("captions");
const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
const M = JSON.parse(root.dataset.msgs || "{}");
const id = root.dataset.id;
const video = document.getElementById("cap-video");
const $ = (sel) => document.getElementById(sel);
const list = $("cap-cues"), status = $("cap-status"), state = $("cap-state");
const trackSel = $("cap-track"), visible = $("cap-visible");

const t = (k, ...args) => (M[k] || k).replace(/%[sd]/g, () => String(args.shift()));

let spans = [];        // kept spans in source seconds, [[a, b], ...]; empty: no edit
let tracks = [];       // the API's list
let track = null;      // the track being edited: {lang, kind, status, visible, isNew}
let cues = [];         // {start, end, text, id, settings, srcStart, srcEnd, timesEdited}
let removed = [];      // cues wholly in removed material: saved back unchanged
let dirty = false;

async function call(method, url, body, type) {
  const headers = { "X-CSRF-Token": csrf };
  if (body !== undefined) headers["Content-Type"] = type || "application/json";
  const resp = await fetch(url, { method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : (type ? body : JSON.stringify(body)) });
  const text = await resp.text();
  if (!resp.ok) {
    let j = {};
    try { j = JSON.parse(text); } catch (_) { /* not JSON */ }
    throw new Error((j.field ? j.field + ": " : "") + (j.error || resp.status));
  }
  return text;
}

function say(text, isError) {
  status.textContent = text;
  status.classList.toggle("error", !!isError);
}

// --- time -----------------------------------------------------------------------------------

function parseTS(s) {
  const m = /^(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{3})$/.exec(s.trim());
  if (!m) return NaN;
  return (+(m[1] || 0)) * 3600 + (+m[2]) * 60 + (+m[3]) + (+m[4]) / 1000;
}

function fmtTS(sec) {
  const ms = Math.max(0, Math.round(sec * 1000));
  const p = (n, w) => String(n).padStart(w, "0");
  return `${p(Math.floor(ms / 3600000), 2)}:${p(Math.floor(ms / 60000) % 60, 2)}:${p(Math.floor(ms / 1000) % 60, 2)}.${p(ms % 1000, 3)}`;
}

const round3 = (x) => Math.round(x * 1000) / 1000;

// toReplay maps a source time into the replay; start: a time in a removed gap moves to the next
// kept material (else to the end of the previous one). It returns null when nothing is kept there.
function toReplay(s, start) {
  if (!spans.length) return s;
  let off = 0;
  for (let i = 0; i < spans.length; i++) {
    const [a, b] = spans[i];
    if (s >= a && s <= b) return off + s - a;
    if (s < a) return start ? off : (i ? off : null);
    off += b - a;
  }
  return start ? null : off;
}

// toSource maps a replay time back (as the server's ToSource): a start into the span it falls
// in, an end into the span it closes.
function toSource(r, end) {
  if (!spans.length) return r;
  let off = 0;
  for (const [a, b] of spans) {
    const len = b - a;
    if (end ? r <= off + len : r < off + len) return a + Math.max(0, r - off);
    off += len;
  }
  return spans[spans.length - 1][1];
}

// --- WebVTT ---------------------------------------------------------------------------------

function parseVTT(text) {
  const out = [];
  for (const block of text.replace(/\r\n?/g, "\n").split(/\n{2,}/)) {
    const lines = block.split("\n");
    let i = lines.findIndex((l) => l.includes("-->"));
    if (i < 0 || /^(WEBVTT|NOTE|STYLE|REGION)/.test(lines[0]) && i !== 1) continue;
    const m = /^(\S+)\s+-->\s+(\S+)\s*(.*)$/.exec(lines[i]);
    if (!m) continue;
    out.push({ id: i > 0 ? lines[i - 1] : "", start: parseTS(m[1]), end: parseTS(m[2]), settings: m[3],
      text: lines.slice(i + 1).join("\n") });
  }
  return out;
}

function writeVTT(items) {
  let s = "WEBVTT\n\n";
  for (const c of items) {
    // A blank line would end the cue, an arrow would read as a timing line.
    const text = c.text.replace(/\n\s*\n/g, "\n").replace(/-->/g, "--&gt;").trim();
    s += (c.id ? c.id + "\n" : "") + fmtTS(c.srcStart) + " --> " + fmtTS(c.srcEnd) + (c.settings ? " " + c.settings : "") + "\n" + text + "\n\n";
  }
  return s;
}

// --- checks (the server's, see pipeline/subtitle) --------------------------------------------

function problems(c, prev) {
  const p = [];
  if (!(c.start >= 0)) p.push({ field: "start", msg: t("err.negative"), error: true });
  if (!(c.end > c.start)) p.push({ field: "end", msg: t("err.order"), error: true });
  if (!c.text.trim()) p.push({ field: "text", msg: t("err.empty"), error: true });
  if (prev && c.start < prev.end) p.push({ field: "start", msg: t("warn.overlap"), error: false });
  return p;
}

// --- the cue list -----------------------------------------------------------------------------

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v);
  }
  e.append(...kids);
  return e;
}

function playhead() { return video ? round3(video.currentTime) : 0; }

function render(focus) {
  cues.sort((a, b) => a.start - b.start || a.end - b.end);
  list.replaceChildren();
  cues.forEach((c, i) => {
    const n = i + 1, pid = "cue-" + n;
    const seek = el("button", { type: "button", class: "cue-seek secondary", "aria-label": t("cue", n) + " — " + fmtTS(c.start) }, "▶ " + fmtTS(c.start));
    seek.addEventListener("click", () => { if (video) video.currentTime = c.start + 0.001; });
    const timeField = (which) => {
      const input = el("input", { type: "number", step: "0.001", min: "0", id: pid + "-" + which, class: "cue-" + which,
        inputmode: "decimal", "aria-keyshortcuts": "Alt+ArrowUp Alt+ArrowDown" });
      input.value = c[which].toFixed(3);
      input.addEventListener("change", () => setTime(c, which, parseFloat(input.value)));
      input.addEventListener("keydown", (ev) => {
        if (!ev.altKey || (ev.key !== "ArrowUp" && ev.key !== "ArrowDown")) return;
        ev.preventDefault();
        setTime(c, which, round3(c[which] + (ev.key === "ArrowUp" ? 0.1 : -0.1)));
      });
      const head = el("button", { type: "button", class: "secondary small", "aria-label": t("fromhead") + " — " + t(which) + ", " + t("cue", n) }, t("head"));
      head.title = t("fromhead");
      head.addEventListener("click", () => setTime(c, which, playhead()));
      return el("span", { class: "cue-time" }, el("label", { for: input.id, text: t(which) }), input, head);
    };
    const text = el("textarea", { id: pid + "-text", rows: "2", class: "cue-text", "aria-label": t("text") + ", " + t("cue", n) });
    text.value = c.text;
    text.addEventListener("input", () => { c.text = text.value; changed(); check(); });
    text.addEventListener("keyup", () => { c.caret = text.selectionStart; });
    text.addEventListener("click", () => { c.caret = text.selectionStart; });
    const act = (label, fn, key) => {
      const b = el("button", { type: "button", class: "secondary small", "aria-label": label + ", " + t("cue", n) }, label);
      b.addEventListener("click", () => fn(i));
      return b;
    };
    const actions = el("div", { class: "cue-actions" }, act(t("split"), split), act(t("merge"), merge), act(t("delete"), remove));
    if (i === cues.length - 1) actions.children[1].disabled = true;
    const msg = el("p", { id: pid + "-msg", class: "cue-msg", "aria-live": "polite" });
    const li = el("li", { class: "cue", id: pid, "data-i": String(i) },
      el("div", { class: "cue-head" }, seek, timeFormat(c)),
      el("div", { class: "cue-times" }, timeField("start"), timeField("end")), text, actions, msg);
    c.li = li;
    list.append(li);
  });
  check();
  highlight();
  if (focus) {
    const f = document.getElementById(focus);
    if (f) f.focus();
  }
}

function timeFormat(c) {
  return el("span", { class: "meta cue-dur" }, "→ " + fmtTS(c.end));
}

function changed() {
  if (!dirty) { dirty = true; say(t("unsaved")); }
  $("cap-approve").hidden = true;
}

// setTime changes one time of a cue in place (no re-render: the keyboard stays where it is;
// the list is sorted again on the next add, split, merge or save).
function setTime(c, which, v) {
  if (Number.isNaN(v)) v = -1;
  c[which] = round3(v);
  c.timesEdited = true;
  changed();
  const input = c.li && c.li.querySelector(".cue-" + which);
  if (input && parseFloat(input.value) !== c[which]) input.value = c[which].toFixed(3);
  if (which === "start" && c.li) {
    const b = c.li.querySelector(".cue-seek");
    b.textContent = "▶ " + fmtTS(c.start);
  }
  if (which === "end" && c.li) c.li.querySelector(".cue-dur").textContent = "→ " + fmtTS(c.end);
  check();
  highlight();
}

// check shows each cue's problems beside it and returns how many errors there are.
function check() {
  let errors = 0;
  cues.forEach((c, i) => {
    if (!c.li) return;
    const ps = problems(c, cues[i - 1]);
    const msg = c.li.querySelector(".cue-msg");
    msg.textContent = ps.map((p) => p.msg).join(" ");
    msg.classList.toggle("error", ps.some((p) => p.error));
    c.li.classList.toggle("invalid", ps.some((p) => p.error));
    for (const f of ["start", "end", "text"]) {
      const input = c.li.querySelector(".cue-" + f);
      const bad = ps.some((p) => p.field === f && p.error);
      input.toggleAttribute("aria-invalid", bad);
      if (bad) input.setAttribute("aria-invalid", "true");
      if (ps.some((p) => p.field === f)) input.setAttribute("aria-describedby", msg.id);
      else input.removeAttribute("aria-describedby");
    }
    errors += ps.filter((p) => p.error).length;
  });
  // A refusal to save goes away once its problems are fixed.
  if (!errors && status.classList.contains("invalid")) { status.classList.remove("invalid"); say(t("unsaved")); }
  return errors;
}

function split(i) {
  const c = cues[i];
  const h = playhead();
  const at = h > c.start && h < c.end ? h : round3((c.start + c.end) / 2);
  let cut = c.caret > 0 && c.caret < c.text.length ? c.caret : c.text.lastIndexOf(" ", Math.floor(c.text.length / 2));
  if (cut <= 0) cut = Math.floor(c.text.length / 2);
  const second = { start: at, end: c.end, text: c.text.slice(cut).trim(), id: "", settings: c.settings, timesEdited: true };
  c.end = at; c.text = c.text.slice(0, cut).trim(); c.timesEdited = true;
  cues.splice(i + 1, 0, second);
  changed();
  render("cue-" + (i + 2) + "-text");
}

function merge(i) {
  const a = cues[i], b = cues[i + 1];
  if (!b) return;
  a.end = Math.max(a.end, b.end);
  a.text = (a.text + "\n" + b.text).trim();
  a.timesEdited = true;
  cues.splice(i + 1, 1);
  changed();
  render("cue-" + (i + 1) + "-text");
}

function remove(i) {
  cues.splice(i, 1);
  changed();
  render(cues.length ? "cue-" + Math.min(i + 1, cues.length) + "-text" : "cap-add");
}

function add() {
  const h = playhead();
  let start = h;
  if (!video || (cues.length && h === 0)) start = cues.length ? cues[cues.length - 1].end : 0;
  const c = { start: round3(start), end: round3(start + 2), text: "", id: "", settings: "", timesEdited: true };
  cues.push(c);
  changed();
  render();
  document.getElementById("cue-" + (cues.indexOf(c) + 1) + "-text")?.focus();
}

// highlight marks the cue under the play head and follows it while playing.
function highlight() {
  if (!video) return;
  const now = video.currentTime;
  let cur = null;
  for (const c of cues) {
    const on = now >= c.start && now < c.end;
    if (c.li) {
      c.li.classList.toggle("current", on);
      if (on) c.li.setAttribute("aria-current", "true"); else c.li.removeAttribute("aria-current");
    }
    if (on && !cur) cur = c;
  }
  $("cap-now").textContent = cur ? cur.text : "";
  if (cur && cur.li && !video.paused && !list.contains(document.activeElement)) cur.li.scrollIntoView({ block: "nearest" });
}

// --- tracks -----------------------------------------------------------------------------------

function describe(tr, short) {
  const bits = [t("kind." + tr.kind), t("status." + tr.status)];
  if (short) return bits.join(" · ");
  if (tr.status === "draft") bits.push(tr.visible ? t("visible") : t("hidden"));
  if (tr.reviewed_by) bits.push(t("reviewedby", tr.reviewed_by, tr.reviewed_at ? new Date(tr.reviewed_at).toLocaleString(document.documentElement.lang) : ""));
  return bits.join(" · ");
}

function showState() {
  if (!track) { state.textContent = t("none"); return; }
  state.textContent = track.isNew ? t("kind.manual") + " · " + t("unsaved") : describe(track);
  visible.checked = !!track.visible;
  // The switch is for drafts: a reviewed track is offered anyway.
  $("cap-review").hidden = track.isNew || track.status !== "draft";
  $("cap-approve").hidden = track.isNew || dirty || track.status !== "draft";
}

async function loadTracks(select) {
  const j = JSON.parse(await call("GET", `/api/recordings/${id}/subtitles`));
  tracks = j.items || [];
  trackSel.replaceChildren(...tracks.map((tr) => el("option", { value: tr.lang }, tr.lang + " — " + describe(tr, true))));
  if (!tracks.length) trackSel.append(el("option", { value: "" }, t("none")));
  if (select) trackSel.value = select;
}

async function openTrack(lang) {
  track = tracks.find((tr) => tr.lang === lang) || null;
  cues = []; removed = []; dirty = false;
  if (track) {
    say(t("loading"));
    const vtt = await call("GET", `/api/recordings/${id}/subtitles/${encodeURIComponent(lang)}?format=vtt`);
    for (const c of parseVTT(vtt)) {
      const rs = toReplay(c.start, true), re = toReplay(c.end, false);
      if (rs === null || re === null || re <= rs) { removed.push({ ...c, srcStart: c.start, srcEnd: c.end }); continue; }
      cues.push({ ...c, start: round3(rs), end: round3(re), srcStart: c.start, srcEnd: c.end, timesEdited: false });
    }
    say("");
  }
  $("cap-removed").hidden = !removed.length;
  $("cap-removed").textContent = removed.length ? t("removed", removed.length) : "";
  showState();
  render();
}

async function save(reviewed) {
  if (!track) return;
  const errors = check();
  if (errors) {
    say(t("invalid", errors), true);
    status.classList.add("invalid");
    list.querySelector("[aria-invalid=true]")?.focus();
    return;
  }
  const items = cues.map((c) => ({ ...c,
    srcStart: c.timesEdited ? toSource(c.start, false) : c.srcStart,
    srcEnd: c.timesEdited ? toSource(c.end, true) : c.srcEnd })).concat(removed);
  items.sort((a, b) => a.srcStart - b.srcStart || a.srcEnd - b.srcEnd);
  const draft = !reviewed && track.status !== "reviewed";
  const url = `/api/recordings/${id}/subtitles/${encodeURIComponent(track.lang)}` + (draft ? "?status=draft" : "");
  try {
    await call("PUT", url, writeVTT(items), "text/vtt");
  } catch (err) {
    say(err.message, true);
    return;
  }
  const lang = track.lang;
  dirty = false;
  await loadTracks(lang);
  await openTrack(lang);
  say(reviewed ? t("savedreviewed") : t("saved"));
}

async function patch(body) {
  try {
    await call("PATCH", `/api/recordings/${id}/subtitles/${encodeURIComponent(track.lang)}`, body);
  } catch (err) {
    say(err.message, true);
    return false;
  }
  const lang = track.lang;
  await loadTracks(lang);
  track = tracks.find((tr) => tr.lang === lang);
  showState();
  return true;
}

// --- wiring -----------------------------------------------------------------------------------

trackSel.addEventListener("change", async () => {
  if (dirty && !confirm(t("confirmleave"))) { trackSel.value = track ? track.lang : ""; return; }
  await openTrack(trackSel.value);
});
$("cap-new").addEventListener("click", () => {
  const lang = $("cap-newlang").value;
  if (tracks.some((tr) => tr.lang === lang)) { trackSel.value = lang; openTrack(lang); return; }
  if (dirty && !confirm(t("confirmleave"))) return;
  track = { lang, kind: "manual", status: "draft", isNew: true };
  if (!trackSel.querySelector(`option[value="${lang}"]`)) trackSel.append(el("option", { value: lang }, lang));
  trackSel.value = lang;
  cues = []; removed = [];
  showState();
  add();
});
$("cap-add").addEventListener("click", add);
$("cap-save").addEventListener("click", () => save(false));
$("cap-save-reviewed").addEventListener("click", () => save(true));
$("cap-approve").addEventListener("click", async () => {
  if (await patch({ status: "reviewed" })) say(t("savedreviewed"));
});
visible.addEventListener("change", async () => {
  if (!track || track.isNew) return;
  if (!(await patch({ visible: visible.checked }))) visible.checked = !visible.checked;
});
$("cap-find").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const q = $("cap-q").value, r = $("cap-r").value;
  if (!q) return;
  let n = 0;
  for (const c of cues) {
    const parts = c.text.split(q);
    if (parts.length > 1) { n += parts.length - 1; c.text = parts.join(r); }
  }
  if (n) { changed(); render(); }
  say(t("replaced", n));
});
document.addEventListener("keydown", (ev) => {
  if (ev.altKey && (ev.key === "n" || ev.key === "N")) { ev.preventDefault(); add(); }
});
window.addEventListener("beforeunload", (ev) => { if (dirty) { ev.preventDefault(); ev.returnValue = ""; } });
if (video) video.addEventListener("timeupdate", highlight);
if (video) video.addEventListener("seeked", highlight);

(async () => {
  try {
    const rec = JSON.parse(await call("GET", `/api/recordings/${id}`));
    spans = (rec.actual || []).map(([a, b]) => [parseTS(a), parseTS(b)]).filter(([a, b]) => b > a);
  } catch (_) {
    spans = []; // a replay without a recording (seeded, imported): its tracks are in replay time
  }
  try {
    await loadTracks();
    const first = tracks.find((tr) => tr.status !== "reviewed") || tracks[0];
    if (first) { trackSel.value = first.lang; await openTrack(first.lang); } else showState();
    root.dataset.loaded = "true";
  } catch (err) {
    say(err.message, true);
  }
})();
