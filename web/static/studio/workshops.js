// Atelier studio: workshops. A form a person understands (weekly on chosen days, every N
// weeks, until a date or N times; or a season on chosen dates) builds the RRULE and RDATEs; the
// server previews the next occurrences in the workshop's zone (POST /api/workshops/preview, so
// DST and validation are the server's) before anything is saved. The list edits, cancels (whole
// or one session) and deletes; the import sends an .ics file as it is.
const app = document.getElementById("ws-app");
const msgs = JSON.parse(app.dataset.msgs || "{}");
const lang = app.dataset.lang || "en";
const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
const form = document.getElementById("ws-form");
const el = (id) => document.getElementById(id);
const t = (k, ...args) => {
  let s = msgs[k] || k;
  for (const a of args) s = s.replace(/%[sd]/, String(a));
  return s;
};
const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
let editing = null; // the stored workshop being edited

async function api(method, url, body, headers) {
  const h = Object.assign({ "X-CSRF-Token": csrf }, headers || {});
  if (body !== undefined && typeof body !== "string" && !(body instanceof Blob)) {
    body = JSON.stringify(body);
    h["Content-Type"] = "application/json";
  }
  const resp = await fetch(url, { method, headers: h, body, credentials: "same-origin" });
  const text = await resp.text();
  let j = {};
  try { j = text ? JSON.parse(text) : {}; } catch (_) { /* not JSON */ }
  if (!resp.ok && !(resp.status === 422 && j.created)) {
    const err = new Error((j.field ? j.field + ": " : "") + (j.error || resp.status));
    err.field = j.field;
    throw err;
  }
  return j;
}

function node(tag, attrs, ...kids) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "text") n.textContent = v;
    else if (k.startsWith("on")) n.addEventListener(k.slice(2), v);
    else if (v !== false && v !== undefined && v !== null) n.setAttribute(k, v === true ? "" : v);
  }
  for (const k of kids) if (k !== null && k !== undefined) n.append(k);
  return n;
}

// ---- times ----
function fmtWhen(iso, tz, withEnd) {
  const d = new Date(iso);
  const f = new Intl.DateTimeFormat(lang, { timeZone: tz, weekday: "long", day: "numeric", month: "long", year: "numeric", hour: "2-digit", minute: "2-digit" });
  let s = f.format(d);
  if (withEnd) s += " – " + new Intl.DateTimeFormat(lang, { timeZone: tz, hour: "2-digit", minute: "2-digit" }).format(new Date(withEnd));
  return s;
}

function localDateIn(iso, tz) { // YYYY-MM-DD of an instant in tz
  const p = {};
  for (const x of new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" }).formatToParts(new Date(iso))) p[x.type] = x.value;
  return p.year + "-" + p.month + "-" + p.day;
}

function parseISODuration(s) { // minutes of P#DT#H#M#S
  const m = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(s || "");
  if (!m) return 90;
  return (+(m[1] || 0)) * 7 * 1440 + (+(m[2] || 0)) * 1440 + (+(m[3] || 0)) * 60 + (+(m[4] || 0));
}

// ---- the form ----
const E = form.elements;
function mode() { return form.querySelector('input[name="mode"]:checked').value; }
function endMode() { return form.querySelector('input[name="end"]:checked').value; }

function showMode() {
  const m = mode();
  el("w-weekly").hidden = m !== "weekly";
  el("w-custom").hidden = m !== "custom";
  el("w-dates").hidden = m !== "dates" && m !== "custom";
  if (m === "dates" && !el("w-rdates").children.length) addDate();
}

function addDate(value) {
  const list = el("w-rdates");
  const n = list.children.length + 1;
  const id = "w-rd-" + Date.now().toString(36) + n;
  const [d, tm] = (value || "").split("T");
  const li = node("li", {},
    node("div", { class: "ws-row" },
      node("div", { class: "field" }, node("label", { for: id + "-d", text: t("session", n + 1) }),
        node("input", { id: id + "-d", type: "date", class: "rd-date", value: d || "" })),
      node("div", { class: "field" }, node("label", { for: id + "-t", text: t("f.time") }),
        node("input", { id: id + "-t", type: "time", class: "rd-time", value: (tm || E.time.value || "18:00").slice(0, 5) })),
      node("button", { type: "button", class: "secondary", "aria-label": t("removedate") + " " + (n + 1), text: t("removedate"),
        onclick: () => { li.remove(); renumber(); schedulePreview(); } })));
  list.append(li);
  if (!value) li.querySelector("input").focus();
  renumber();
}

function renumber() {
  [...el("w-rdates").children].forEach((li, i) => {
    const lab = li.querySelector("label");
    if (lab) lab.textContent = t("session", i + 2);
    li.querySelector("button").setAttribute("aria-label", t("removedate") + " " + (i + 2));
  });
}

function rdates() {
  return [...el("w-rdates").children].map((li) => {
    const d = li.querySelector(".rd-date").value, tm = li.querySelector(".rd-time").value;
    return d ? d + "T" + (tm || "18:00") + ":00" : "";
  }).filter(Boolean);
}

function duration() {
  const h = Math.max(0, parseInt(E.hours.value || "0", 10) || 0), m = Math.max(0, parseInt(E.minutes.value || "0", 10) || 0);
  let s = "PT";
  if (h) s += h + "H";
  if (m || !h) s += m + "M";
  return s;
}

function rrule() {
  const m = mode();
  if (m === "custom") return E.recurrence.value.trim();
  if (m !== "weekly") return "";
  const parts = ["FREQ=WEEKLY"];
  const n = parseInt(E.interval.value || "1", 10);
  if (n > 1) parts.push("INTERVAL=" + n);
  const end = endMode();
  if (end === "count" && E.count.value) parts.push("COUNT=" + parseInt(E.count.value, 10));
  if (end === "until" && E.until.value) parts.push("UNTIL=" + E.until.value.replaceAll("-", ""));
  const days = [...form.querySelectorAll('input[name="byday"]:checked')].map((c) => c.value);
  if (days.length) parts.push("BYDAY=" + days.join(","));
  return parts.join(";");
}

function documents() {
  return E.documents.value.split(/[\n,]+/).map((s) => s.trim()).filter(Boolean).map((s) => {
    const i = s.lastIndexOf("@");
    return i > 0 ? { software: s.slice(0, i), version: s.slice(i + 1) } : { software: s, version: "" };
  });
}

// draft is the workshop the form describes, as the API takes it.
function draft() {
  const m = mode();
  return {
    title: E.title.value.trim(),
    starts_at: E.date.value && E.time.value ? E.date.value + "T" + E.time.value + ":00" : "",
    timezone: E.timezone.value.trim(),
    duration: duration(),
    recurrence: rrule(),
    rdates: m === "dates" || m === "custom" ? rdates() : [],
    description: E.description.value,
    location: E.location.value.trim(),
    language: E.language.value,
    status: E.status.value,
    capacity: parseInt(E.capacity.value || "0", 10) || 0,
    animator: E.animator.value.trim(),
    series: E.series.value.trim(),
    registration_url: E.registration_url.value.trim(),
    documents: documents(),
  };
}

// ---- preview ----
let previewTimer = 0, previewSeq = 0;
function schedulePreview() {
  clearTimeout(previewTimer);
  previewTimer = setTimeout(preview, 300);
}

async function preview() {
  const box = el("w-preview");
  const d = draft();
  if (!d.starts_at || !d.timezone) {
    box.replaceChildren(node("p", { class: "meta", text: t("preview.none") }));
    return;
  }
  if (editing && (d.recurrence || d.rdates.length)) d.exdates = editing.exdates || [];
  const seq = ++previewSeq;
  try {
    const res = await api("POST", "/api/workshops/preview?count=8", d);
    if (seq !== previewSeq) return;
    const ol = node("ol", { id: "w-preview-list" });
    for (const o of res.occurrences) {
      ol.append(node("li", { "data-start": o.starts_at, text: fmtWhen(o.start, res.workshop.timezone, endInstant(o.start, res.workshop.duration)) }));
    }
    const kids = [node("p", { class: "meta", text: res.workshop.timezone + (res.workshop.recurrence ? " · RRULE:" + res.workshop.recurrence : "") })];
    kids.push(res.occurrences.length ? ol : node("p", { text: t("nonext") }));
    if (res.endless) kids.push(node("p", { class: "meta", text: t("endless") }));
    else if (res.more) kids.push(node("p", { class: "meta", text: t("more") }));
    box.replaceChildren(...kids);
  } catch (err) {
    if (seq !== previewSeq) return;
    box.replaceChildren(node("p", { class: "error", id: "w-preview-error", text: t("preview.error") + " " + err.message }));
  }
}

function endInstant(startISO, dur) {
  return new Date(new Date(startISO).getTime() + parseISODuration(dur) * 60000).toISOString();
}

// ---- fill / reset ----
function resetForm() {
  editing = null;
  form.reset();
  E.id.value = "";
  E.timezone.value = browserZone;
  E.animator.defaultValue && (E.animator.value = E.animator.defaultValue);
  el("w-rdates").replaceChildren();
  el("ws-form-title").textContent = t("newtitle");
  showMode();
  schedulePreview();
}

function fill(w) {
  resetForm();
  editing = w;
  E.id.value = w.id;
  el("ws-form-title").textContent = t("edittitle", w.title);
  E.title.value = w.title;
  [E.date.value, E.time.value] = [w.starts_at.slice(0, 10), w.starts_at.slice(11, 16)];
  E.timezone.value = w.timezone;
  const min = parseISODuration(w.duration);
  E.hours.value = Math.floor(min / 60);
  E.minutes.value = min % 60;
  E.description.value = w.description || "";
  E.location.value = w.location || "";
  E.language.value = w.language || "";
  E.status.value = w.status === "tentative" ? "tentative" : "confirmed";
  E.capacity.value = w.capacity || 0;
  E.animator.value = w.animator || "";
  E.series.value = w.series || "";
  E.registration_url.value = w.registration_url || "";
  E.documents.value = (w.documents || []).map((d) => d.software + (d.version ? "@" + d.version : "")).join("\n");
  let m = "once";
  const weekly = /^FREQ=WEEKLY(?:;INTERVAL=(\d+))?(?:;COUNT=(\d+))?(?:;UNTIL=(\d{8}T\d{6}Z))?(?:;BYDAY=((?:MO|TU|WE|TH|FR|SA|SU)(?:,(?:MO|TU|WE|TH|FR|SA|SU))*))?$/.exec(w.recurrence || "");
  if (weekly && !(w.rdates || []).length) {
    m = "weekly";
    E.interval.value = weekly[1] || 1;
    if (weekly[2]) { el("w-end-count").checked = true; E.count.value = weekly[2]; }
    if (weekly[3]) {
      el("w-end-until").checked = true;
      const u = weekly[3];
      E.until.value = localDateIn(u.slice(0, 4) + "-" + u.slice(4, 6) + "-" + u.slice(6, 8) + "T" + u.slice(9, 11) + ":" + u.slice(11, 13) + ":" + u.slice(13, 15) + "Z", w.timezone);
    }
    for (const d of (weekly[4] || "").split(",").filter(Boolean)) el("w-day-" + d).checked = true;
  } else if (w.recurrence) {
    m = "custom";
    E.recurrence.value = w.recurrence;
  } else if ((w.rdates || []).length) {
    m = "dates";
  }
  el("w-mode-" + m).checked = true;
  for (const r of w.rdates || []) addDate(r);
  showMode();
  schedulePreview();
  E.title.focus();
  form.scrollIntoView({ block: "start" });
}

form.addEventListener("input", schedulePreview);
form.addEventListener("change", (e) => {
  if (e.target.name === "mode") showMode();
  if (e.target.name === "until" && e.target.value) el("w-end-until").checked = true;
  if (e.target.name === "count") el("w-end-count").checked = true;
  schedulePreview();
});
el("w-adddate").addEventListener("click", () => { addDate(); schedulePreview(); });
el("w-reset").addEventListener("click", resetForm);
form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const out = el("w-result");
  out.className = "";
  out.textContent = "…";
  const d = draft();
  // A workshop that no longer recurs keeps no cancelled sessions (the API would refuse them).
  if (editing && !d.recurrence && !d.rdates.length) d.exdates = [];
  try {
    const w = editing ? await api("PATCH", "/api/workshops/" + encodeURIComponent(editing.id), d) : await api("POST", "/api/workshops", d);
    out.replaceChildren(editing ? t("saved") + " " : t("created") + " ", node("a", { href: "/workshops/" + encodeURIComponent(w.id), id: "w-saved-link", "data-id": w.id, text: w.title }));
    resetForm();
    loadList();
  } catch (err) {
    out.className = "error";
    out.textContent = err.message;
    const f = (err.field || "").replace(/\[\d+\]$/, "");
    const target = { title: E.title, starts_at: E.date, timezone: E.timezone, duration: E.hours, recurrence: mode() === "custom" ? E.recurrence : E.interval, rdates: el("w-adddate"), registration_url: E.registration_url, documents: E.documents, series: E.series, capacity: E.capacity, language: E.language }[f];
    if (target) target.focus();
  }
});

// ---- list ----
function describe(w) {
  const rd = (w.rdates || []).length;
  const weekly = /^FREQ=WEEKLY(?:;INTERVAL=(\d+))?(?:;COUNT=(\d+))?(?:;UNTIL=(\d{8})T\d{6}Z)?(?:;BYDAY=([A-Z,]+))?$/.exec(w.recurrence || "");
  if (!w.recurrence && !rd) return t("once");
  if (!w.recurrence) return t("sessions", rd + 1);
  let s = weekly ? (weekly[1] && weekly[1] !== "1" ? t("everyn", weekly[1]) : t("every")) : "RRULE:" + w.recurrence;
  if (weekly && weekly[4]) s += " · " + weekly[4].split(",").map((d) => (el("w-day-" + d) || {}).nextElementSibling?.querySelector("abbr")?.title || d).join(", ");
  if (weekly && weekly[2]) s += " · " + t("times", weekly[2]);
  if (rd) s += " · " + t("extra", rd);
  return s;
}

async function loadList() {
  const box = el("ws-list");
  box.setAttribute("aria-busy", "true");
  try {
    const res = await api("GET", "/api/workshops?limit=100");
    if (!res.items.length) {
      box.replaceChildren(node("p", { text: t("none") }));
      return;
    }
    const tbody = node("tbody");
    for (const w of res.items) tbody.append(row(w));
    box.replaceChildren(node("table", { class: "ws-table" },
      node("thead", {}, node("tr", {}, ...["f.title", "next", "f.repeat", "f.status", "actions"].map((k) => node("th", { scope: "col", text: t(k) })))),
      tbody));
  } catch (err) {
    box.replaceChildren(node("p", { class: "error", text: err.message }));
  } finally {
    box.setAttribute("aria-busy", "false");
  }
}

function row(w) {
  const status = el("ws-list-status");
  const tr = node("tr", { "data-id": w.id });
  const next = w.next_occurrence ? fmtWhen(w.next_occurrence, w.timezone) : t("nonext");
  const actions = node("div", { class: "actions" },
    node("button", { type: "button", class: "secondary", text: t("edit"), "aria-label": t("edit") + " " + w.title, onclick: () => fill(w) }),
    node("button", { type: "button", class: "secondary ws-cancel-open", text: t("cancel"), "aria-label": t("cancel") + " " + w.title, "aria-expanded": "false", onclick: (e) => toggleCancel(e.currentTarget, w, td) }),
    node("button", { type: "button", class: "secondary", text: t("delete"), "aria-label": t("delete") + " " + w.title, onclick: async () => {
      if (!window.confirm(t("confirmdelete", w.title))) return;
      try { await api("DELETE", "/api/workshops/" + encodeURIComponent(w.id)); status.textContent = t("deleted", w.title); loadList(); }
      catch (err) { status.textContent = err.message; }
    } }));
  const td = node("td", {}, actions);
  tr.append(
    node("td", {}, node("a", { href: "/workshops/" + encodeURIComponent(w.id), text: w.title }), node("br"), node("span", { class: "meta", text: [w.series, w.location].filter(Boolean).join(" · ") })),
    node("td", {}, next, node("br"), node("span", { class: "meta", text: w.timezone })),
    node("td", { text: describe(w) }),
    node("td", { text: t("status." + w.status) }),
    td);
  return tr;
}

async function toggleCancel(btn, w, td) {
  const open = td.querySelector(".ws-cancel");
  if (open) { open.remove(); btn.setAttribute("aria-expanded", "false"); return; }
  btn.setAttribute("aria-expanded", "true");
  const id = "c-" + w.id;
  const recurs = !!w.recurrence || (w.rdates || []).length > 0;
  const sel = node("select", { id: id + "-occ", disabled: true });
  const panel = node("fieldset", { class: "ws-cancel" },
    node("legend", { text: t("cancel") + " — " + w.title }),
    node("span", { class: "check" }, node("input", { type: "radio", name: id, id: id + "-whole", value: "whole", checked: true }), node("label", { for: id + "-whole", text: t("cancelwhole") })),
    recurs ? node("span", { class: "check" }, node("input", { type: "radio", name: id, id: id + "-one", value: "one" }), node("label", { for: id + "-one", text: t("cancelone") })) : null,
    recurs ? node("div", { class: "field" }, node("label", { for: id + "-occ", class: "visually-hidden", text: t("cancelone") }), sel) : null,
    node("div", { class: "actions" },
      node("button", { type: "button", class: "ws-cancel-go", text: t("cancelgo"), onclick: async () => {
        const one = panel.querySelector("#" + CSS.escape(id + "-one"));
        const body = one && one.checked ? { occurrence: sel.value } : {};
        try {
          await api("POST", "/api/workshops/" + encodeURIComponent(w.id) + "/cancel", body);
          el("ws-list-status").textContent = t("cancelled", w.title);
          loadList();
        } catch (err) { el("ws-list-status").textContent = err.message; }
      } }),
      node("button", { type: "button", class: "secondary", text: t("cancelclose"), onclick: () => { panel.remove(); btn.setAttribute("aria-expanded", "false"); btn.focus(); } })));
  td.append(panel);
  panel.querySelector("input").focus();
  if (!recurs) return;
  panel.addEventListener("change", (e) => { if (e.target.name === id) sel.disabled = e.target.value !== "one"; });
  try {
    const res = await api("POST", "/api/workshops/preview?count=50", {
      title: w.title, starts_at: w.starts_at, timezone: w.timezone, duration: w.duration, recurrence: w.recurrence, rdates: w.rdates || [], exdates: w.exdates || [],
    });
    for (const o of res.occurrences) sel.append(node("option", { value: o.starts_at, text: fmtWhen(o.start, w.timezone) }));
  } catch (err) { sel.after(node("p", { class: "error", text: err.message })); }
}

// ---- import ----
el("ws-import").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = e.currentTarget, out = el("i-result");
  const file = f.elements.file.files[0];
  if (!file) return;
  const q = new URLSearchParams();
  if (f.elements.timezone.value.trim()) q.set("timezone", f.elements.timezone.value.trim());
  if (f.elements.series.value.trim()) q.set("series", f.elements.series.value.trim());
  if (E.language.value) q.set("language", E.language.value);
  out.textContent = "…";
  try {
    const res = await api("POST", "/api/workshops/import?" + q, file, { "Content-Type": "text/calendar" });
    const kids = [node("p", { id: "i-created", text: t("imported", res.created.length) })];
    const list = (title, items, cls, key) => {
      if (!items.length) return;
      kids.push(node("p", { class: cls, text: title }),
        node("ul", {}, ...items.map((x) => node("li", { text: "#" + (x.index + 1) + " " + (x.summary || x.uid || "") + (x.field ? " (" + x.field + ")" : "") + " : " + x[key] }))));
    };
    list(t("importwarnings"), res.warnings || [], "meta", "warning");
    list(t("importerrors"), res.errors || [], "error", "error");
    out.replaceChildren(...kids);
    loadList();
  } catch (err) {
    out.replaceChildren(node("p", { class: "error", text: err.message }));
  }
});

el("i-tz").value = browserZone;
resetForm();
loadList();
