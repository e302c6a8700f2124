// A recording's studio page (/studio/recordings/{id}): its job, and the cut editor on the
// timeline over the raw source (GET /api/recordings/{id}/source, Range requests: the browser
// reads what it plays, never the whole file). Apply sends the parts kept and the chapters in
// source time (PUT /api/recordings/{id}/edits) and follows the new render live through the
// recording's events; the replay keeps being served as it was until the new render is ready.
import { api } from "./common.js";
import { Timeline, fmt, parseTC } from "./timeline.js";
import { fillJob, jobCall, isActive, tr } from "./jobs.js";

const root = document.getElementById("recording");
const id = root.dataset.id;
const M = JSON.parse(root.dataset.msgs || "{}");
const video = document.getElementById("rec-video");
const tl = new Timeline(document.getElementById("rec-timeline"), { video, msgs: M, prefix: "rec" });
const jobBox = document.getElementById("rec-job");
const applyBtn = document.getElementById("rec-apply");
const cutSel = document.getElementById("rec-cut");
const out = document.getElementById("rec-status");
let rec = null;
let events = null;

function say(text, isError) {
  out.textContent = text;
  out.classList.toggle("error", !!isError);
}

function showJob(v) {
  rec = v;
  fillJob(jobBox, v, M, act);
  applyBtn.disabled = isActive(v);
  root.dataset.status = v.status;
}

async function act(kind) {
  showJob(await jobCall(id, kind));
  if (isActive(rec)) follow();
}

// toSource maps a replay time to the source through the spans the render kept.
function toSource(r, spans) {
  let off = 0;
  for (const [a, b] of spans) {
    if (r < off + (b - a)) return a + (r - off);
    off += b - a;
  }
  return spans.length ? spans[spans.length - 1][1] : r;
}

// follow shows the job's progress from its Server-Sent Events until it is final.
function follow() {
  if (events) events.close();
  events = new EventSource(`/api/recordings/${encodeURIComponent(id)}/events`);
  const on = (ev) => {
    const v = JSON.parse(ev.data);
    showJob(v);
    if (isActive(v)) return;
    events.close();
    events = null;
    if (v.status === "ready") {
      say(tr(M, "rec.done", fmt((v.replay_duration_ms || 0) / 1000)));
      root.dataset.rendered = "true";
    } else {
      say(tr(M, "rec.failed", v.error || tr(M, "job." + v.status)), true);
    }
  };
  events.onmessage = on;
  events.addEventListener("recording", on);
}

applyBtn.addEventListener("click", async () => {
  const body = { edits: { keep: tl.keep() || [[fmt(0), fmt(tl.duration)]] }, chapters: tl.chapterList(), cut: cutSel.value };
  applyBtn.disabled = true;
  say(tr(M, "rec.applying"));
  try {
    showJob(await api("PUT", `/api/recordings/${encodeURIComponent(id)}/edits`, body));
    root.dataset.rendered = "false";
    follow();
  } catch (err) {
    applyBtn.disabled = rec ? isActive(rec) : false;
    say(err.message, true);
  }
});

async function load() {
  try {
    rec = await api("GET", `/api/recordings/${encodeURIComponent(id)}`);
  } catch (err) {
    say(err.message, true);
    return;
  }
  const src = rec.source || {};
  const duration = src.duration_ms ? src.duration_ms / 1000 : 0;
  const fps = src.frame_rate || src.fps || rec.frame_rate || 0;
  const pairs = (l) => (l || []).map(([a, b]) => [parseTC(a), parseTC(b)]).filter(([a, b]) => b > a);
  const actual = pairs(rec.actual);
  // What the animator asked for (a fast cut's actual spans moved to keyframes).
  const keep = pairs(rec.requested).length ? pairs(rec.requested) : actual;
  let chapters;
  if (Array.isArray(rec.chapters)) {
    chapters = rec.chapters.map((c) => ({ start: parseTC(c.start), title: c.title, documents: c.documents }));
  } else {
    // The replay's chapters are in replay time: back to the source through the kept spans.
    chapters = JSON.parse(root.dataset.chapters || "[]").map((c) => ({
      start: actual.length ? toSource(c.start_ms / 1000, actual) : c.start_ms / 1000, title: c.title, documents: c.documents,
    }));
  }
  if (rec.cut) cutSel.value = rec.cut;
  tl.load({
    duration, fps, keep, chapters,
    waveform: `/api/recordings/${encodeURIComponent(id)}/waveform.json`,
    storyboard: `/api/recordings/${encodeURIComponent(id)}/storyboard.vtt`,
  });
  if (!duration) video.addEventListener("loadedmetadata", () => tl.setDuration(video.duration), { once: true });
  showJob(rec);
  if (isActive(rec)) follow();
  root.dataset.loaded = "true";
}

load();
