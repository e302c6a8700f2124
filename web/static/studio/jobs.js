// The studio's jobs: each recording's processing state, progress, error (its text carries the
// hint ffmpeg's known messages map to) and the actions that fit it — cancel while queued or
// running, retry once failed or cancelled (POST /api/recordings/{id}/cancel|retry). The list on
// the studio home (#jobs) reads GET /api/recordings and reads it again every 2 s while a job
// runs (15 s otherwise); a recording's page (recording.js) shows one job with the same fillJob.
import { api } from "./common.js";

const ACTIVE = new Set(["queued", "processing"]);

export const isActive = (v) => ACTIVE.has(v.status);

const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};

export function tr(M, k, ...args) {
  return (M[k] || k).replace(/%%|%[sd]/g, (m) => (m === "%%" ? "%" : String(args.shift())));
}

// fillJob writes v's state into box: state and stage, progress, error, and the buttons; act is
// called with "cancel" or "retry" and resolves with the recording's new JSON.
// While the status stays the same, only the texts and the bar change: the buttons (and the
// keyboard focus on them) stay.
export function fillJob(box, v, M, act) {
  let text = tr(M, "job." + v.status);
  if (isActive(v) && v.stage) text += " · " + (M["job.stage." + v.stage] || v.stage);
  if (isActive(v) && typeof v.eta_seconds === "number") text += " · " + eta(M, v.eta_seconds);
  if (v.attempts > 1) text += " · " + tr(M, "job.attempts", v.attempts);
  const same = box.dataset.status === v.status && box.querySelector(".job-state");
  const state = same || el("p", "job-state");
  state.textContent = text;
  const bar = box.querySelector("progress") || el("progress");
  bar.max = 1;
  bar.value = v.progress || 0;
  bar.setAttribute("aria-label", tr(M, "job.progress", Math.round((v.progress || 0) * 100)));
  if (same) {
    playableNote(box, v, M, bar);
    return;
  }
  // A row rebuilt under the keyboard focus hands it to its new first button (or its state).
  const hadFocus = box.contains(document.activeElement);
  box.dataset.status = v.status;
  box.textContent = "";
  box.append(state);
  if (isActive(v)) box.append(bar);
  playableNote(box, v, M, bar);
  if (v.error && (v.status === "failed" || v.status === "cancelled")) {
    box.append(el("p", "job-error" + (v.status === "failed" ? " error" : " meta"), v.error));
  }
  const actions = el("div", "job-actions");
  const out = el("span", "job-msg");
  out.setAttribute("role", "status");
  out.setAttribute("aria-live", "polite");
  const button = (kind, label) => {
    const b = el("button", "secondary job-" + kind, label);
    b.type = "button";
    b.addEventListener("click", async () => {
      b.disabled = true;
      out.textContent = "…";
      out.classList.remove("error");
      try {
        await act(kind);
      } catch (err) {
        b.disabled = false;
        out.textContent = err.message;
        out.classList.add("error");
      }
    });
    actions.append(b);
  };
  if (isActive(v)) button("cancel", tr(M, "job.cancel"));
  if (v.status === "failed" || v.status === "cancelled") button("retry", tr(M, "job.retry"));
  actions.append(out);
  box.append(actions);
  if (hadFocus) {
    state.tabIndex = -1;
    (box.querySelector("button") || state).focus();
  }
}

// eta says the time left in seconds, or in minutes from a minute and a half.
const eta = (M, sec) => {
  const s = Math.max(0, Math.round(sec));
  return s < 90 ? tr(M, "job.eta", s) : tr(M, "job.eta.min", Math.round(s / 60));
};

// playableNote tells, while the job still works, that learners can already watch the replay
// (its first rendition is published; the lower qualities, the extras and the automatic captions
// follow), with a link to it.
function playableNote(box, v, M, bar) {
  const want = isActive(v) && v.playable && v.links && v.links.page;
  let note = box.querySelector(".job-playable");
  if (!want) {
    if (note) note.remove();
    return;
  }
  if (note) return;
  note = el("p", "job-playable", tr(M, "job.playable") + " ");
  const a = el("a", "", tr(M, "job.watch"));
  a.href = v.links.page;
  note.append(a);
  bar.after(note);
}

export const jobCall = (id, kind) => api("POST", `/api/recordings/${encodeURIComponent(id)}/${kind}`);

// The list on the studio home.
const list = document.getElementById("jobs");
if (list) {
  const M = JSON.parse(list.dataset.msgs || "{}");
  const titles = JSON.parse(list.dataset.titles || "{}");
  const status = document.getElementById("jobs-status");
  let timer = 0;
  // draw updates the list in place: a row per recording, kept across refreshes.
  const draw = (items) => {
    const empty = list.querySelector("li:not(.job)");
    if (empty) empty.remove();
    if (!items.length) {
      list.textContent = "";
      list.append(el("li", "meta", tr(M, "job.none")));
      return;
    }
    const rows = new Map([...list.querySelectorAll("li.job")].map((li) => [li.dataset.id, li]));
    let prev = null;
    for (const v of items) {
      let li = rows.get(v.id);
      rows.delete(v.id);
      if (!li) {
        li = el("li", "job");
        li.dataset.id = v.id;
        const head = el("div", "job-head");
        const a = el("a", "job-title", titles[v.id] || v.id);
        a.href = "/studio/recordings/" + encodeURIComponent(v.id);
        a.setAttribute("aria-label", tr(M, "job.open", titles[v.id] || v.id));
        head.append(a, el("span", "meta", v.id + (v.created_by ? " · " + v.created_by : "")));
        const body = el("div", "job-body");
        li.append(head, body);
        const act = async (kind) => {
          fillJob(body, await jobCall(v.id, kind), M, act);
          refresh();
        };
        li.act = act;
      }
      fillJob(li.querySelector(".job-body"), v, M, li.act);
      if (prev ? prev.nextSibling !== li : list.firstChild !== li) {
        if (prev) prev.after(li);
        else list.prepend(li);
      }
      prev = li;
    }
    for (const li of rows.values()) li.remove();
  };
  const refresh = async () => {
    clearTimeout(timer);
    try {
      const j = await api("GET", "/api/recordings?limit=20");
      draw(j.items || []);
      list.dataset.loaded = "true";
      status.textContent = "";
      // Every 2 s while a job runs; every 15 s otherwise, so that an upload sent from this
      // page (or another animator's) shows up; not while the page is hidden.
      timer = setTimeout(refresh, (j.items || []).some(isActive) ? 2000 : 15000);
    } catch (err) {
      status.textContent = err.message;
      status.classList.add("error");
      timer = setTimeout(refresh, 5000);
    }
  };
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) clearTimeout(timer);
    else refresh();
  });
  refresh();
}
