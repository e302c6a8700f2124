// The cut editor's timeline, shared by the upload form and a recording's studio page. Everything
// is in SOURCE time (seconds): the parts kept, in order and apart, and the chapters. The track
// draws the waveform and the thumbnails the server computed once per recording (audiowaveform
// JSON v2, a storyboard sprite with its WebVTT); without them (a new upload, before it is sent)
// it is a plain track. Nothing here decodes the media: on a 1-hour recording the browser holds
// 36 000 waveform buckets and one sprite.
//
// Editing follows the usual non-linear editor: the whole recording is one kept part at first;
// I and O move the start and the end of the part under the play head, S splits it there, X (or
// Delete) removes the part under the play head, C adds a chapter. Each part's edges are buttons:
// drag them, or focus them and move them a frame with ←/→ (a second with Shift). Every time
// snaps to a frame (the recording's frame rate, else 1/30 s). The preview plays the result by
// jumping over the removed parts, before anything is rendered.

export function fmt(t) {
  const ms = Math.max(0, Math.round(t * 1000));
  const p = (n, w) => String(n).padStart(w, "0");
  return `${p(Math.floor(ms / 3600000), 2)}:${p(Math.floor(ms / 60000) % 60, 2)}:${p(Math.floor(ms / 1000) % 60, 2)}.${p(ms % 1000, 3)}`;
}

// parseTC reads the API's timecodes ("HH:MM:SS", "HH:MM:SS.mmm", "MM:SS", or seconds).
export function parseTC(s) {
  if (typeof s === "number") return s;
  const parts = String(s).trim().split(":").map(Number);
  if (!parts.length || parts.some((n) => !Number.isFinite(n))) return NaN;
  return parts.reduce((acc, n) => acc * 60 + n, 0);
}

// parseTags reads "nextcloud@28.0.2, onlyoffice" into the API's documents.
export function parseTags(s) {
  return String(s || "").split(/[\n,]+/).map((x) => x.trim()).filter(Boolean).map((x) => {
    const i = x.lastIndexOf("@");
    return i > 0 ? { software: x.slice(0, i), version: x.slice(i + 1) } : { software: x, version: "" };
  });
}

const tagText = (docs) => (docs || []).map((d) => (d.version ? `${d.software}@${d.version}` : d.software)).join(", ");

const el = (tag, props = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") e.className = v;
    else if (k === "data") Object.assign(e.dataset, v);
    else if (["id", "type", "textContent", "htmlFor", "value", "disabled"].includes(k)) e[k] = v;
    else e.setAttribute(k, v);
  }
  e.append(...kids);
  return e;
};

export class Timeline {
  // root: an empty element the timeline fills; video: the player; msgs: the tl.* texts;
  // prefix: the ids' prefix ("cut" gives #cut-in, #cut-ranges…).
  constructor(root, { video, msgs, prefix }) {
    this.root = root;
    this.video = video;
    this.M = msgs || {};
    this.p = prefix;
    this.duration = 0;
    this.fps = 30;
    this.parts = [];      // [[a, b], …] sorted, apart
    this.chapters = [];   // {start, title, tags, li}
    this.zoom = 1;
    this.wave = null;     // audiowaveform JSON
    this.thumbs = [];     // storyboard cues {start, end, src, x, y, w, h}
    this.build();
    this.listen();
  }

  t(k, ...args) {
    return (this.M[k] || k).replace(/%[sd]/g, () => String(args.shift()));
  }

  id(name) { return `${this.p}-${name}`; }

  build() {
    const b = (name, key, short, cls = "secondary") => el("button", {
      type: "button", class: cls, id: this.id(name), "aria-keyshortcuts": short.toLowerCase(),
      textContent: `${this.t(key)} (${short})`,
    });
    this.preview = el("input", { type: "checkbox", id: this.id("preview"), "aria-keyshortcuts": "p" });
    this.zoomSel = el("select", { id: this.id("zoom"), class: "inline" });
    for (const z of [1, 2, 4, 8, 16, 32]) this.zoomSel.append(el("option", { value: String(z), textContent: `×${z}` }));
    const tools = el("div", { class: "actions tl-tools" },
      b("in", "tl.in", "I"), b("out", "tl.out", "O"), b("split", "tl.split", "S"), b("delete", "tl.delete", "X"),
      b("chapter", "tl.chapter", "C"), b("back", "tl.back", "J"), b("fwd", "tl.fwd", "L"),
      el("span", { class: "check" }, this.preview, el("label", { htmlFor: this.id("preview"), textContent: `${this.t("tl.preview")} (P)` })),
      el("span", { class: "tl-zoom" }, el("label", { htmlFor: this.id("zoom"), textContent: this.t("tl.zoom") }), this.zoomSel));
    this.keysHelp = el("p", { class: "help", id: this.id("keys"), textContent: this.t("tl.keys") });
    this.thumbBox = el("div", { class: "tl-thumbs", "aria-hidden": "true" });
    this.canvas = el("canvas", { class: "tl-wave", "aria-hidden": "true" });
    this.partBox = el("div", { class: "tl-parts" });
    this.markBox = el("div", { class: "tl-marks", "aria-hidden": "true" });
    this.head = el("div", { class: "tl-head", "aria-hidden": "true" });
    this.track = el("div", { class: "tl-track tl-plain", id: this.id("track"), role: "group", "aria-label": this.t("tl.track"),
      "aria-describedby": this.id("keys") }, this.thumbBox, this.canvas, this.partBox, this.markBox, this.head);
    this.scroll = el("div", { class: "tl-scroll" }, this.track);
    this.timeOut = el("output", { id: this.id("time"), "aria-live": "off", textContent: fmt(0) });
    this.resultOut = el("span", { id: this.id("result"), class: "tl-result" });
    this.msg = el("p", { id: this.id("msg"), role: "status", "aria-live": "polite", class: "tl-msg" });
    this.rangesEl = el("ol", { id: this.id("ranges"), class: "tl-list" });
    this.chaptersEl = el("ol", { id: this.id("chapters"), class: "tl-list", "data-empty": this.t("tl.chapters.none") });
    this.root.classList.add("tl");
    this.root.append(tools, this.keysHelp, this.scroll,
      el("p", { class: "tl-now" }, this.timeOut, " · ", this.resultOut), this.msg,
      el("h3", { textContent: this.t("tl.kept") }), this.rangesEl,
      el("h3", { textContent: this.t("tl.chapters") }), this.chaptersEl);
  }

  listen() {
    const on = (name, fn) => document.getElementById(this.id(name)).addEventListener("click", fn);
    on("in", () => this.markIn());
    on("out", () => this.markOut());
    on("split", () => this.split());
    on("delete", () => this.remove());
    on("chapter", () => this.addChapter(this.now(), "", [], true));
    on("back", () => this.seek(this.video.currentTime - 5));
    on("fwd", () => this.seek(this.video.currentTime + 5));
    this.zoomSel.addEventListener("change", () => { this.zoom = +this.zoomSel.value; this.layout(); this.follow(); });
    this.preview.addEventListener("change", () => this.skip());
    const v = this.video;
    v.addEventListener("timeupdate", () => this.tick());
    v.addEventListener("seeked", () => this.tick());
    v.addEventListener("play", () => this.loop());
    // Seek where the track is pressed (not on an edge, which drags).
    this.track.addEventListener("pointerdown", (e) => {
      if (e.target.closest(".tl-edge") || !this.duration) return;
      this.seek(this.at(e.clientX));
    });
    window.addEventListener("resize", () => this.layout());
    // The shortcuts work anywhere in the editor (the player included) but never while typing.
    (this.root.closest("fieldset, section, form") || this.root).addEventListener("keydown", (e) => this.key(e));
  }

  key(e) {
    const tag = (e.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.target.classList && e.target.classList.contains("tl-edge") && (e.key === "ArrowLeft" || e.key === "ArrowRight")) return;
    const k = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    const v = this.video;
    if (k === "i") this.markIn();
    else if (k === "o") this.markOut();
    else if (k === "s") this.split();
    else if (k === "x" || k === "Delete") this.remove();
    else if (k === "c") this.addChapter(this.now(), "", [], true);
    else if (k === "j") this.seek(v.currentTime - 5);
    else if (k === "l") this.seek(v.currentTime + 5);
    else if (k === "p") { this.preview.checked = !this.preview.checked; this.skip(); }
    else if (k === " " && e.target !== v && tag !== "button") { if (v.paused) v.play(); else v.pause(); }
    else return;
    e.preventDefault();
  }

  // load sets the recording: its duration and frame rate, the parts kept and the chapters (all
  // in source seconds), and where the waveform and the storyboard are (optional).
  load({ duration, fps, keep, chapters, waveform, storyboard }) {
    this.duration = duration || 0;
    if (fps > 0 && fps <= 240) this.fps = fps;
    const parts = (keep || []).map(([a, b]) => [this.snap(a), this.snap(b)]).filter(([a, b]) => b > a);
    this.parts = parts.length ? parts : (this.duration ? [[0, this.duration]] : []);
    this.chaptersEl.textContent = "";
    this.chapters = [];
    for (const c of chapters || []) this.addChapter(c.start, c.title, c.documents, false);
    this.root.dataset.fps = String(this.fps);
    this.render();
    this.layout();
    if (waveform) this.loadWave(waveform);
    if (storyboard) this.loadStoryboard(storyboard);
  }

  // setDuration is for a local file: its length is known once the player read its header.
  setDuration(d) {
    if (!(d > 0) || !Number.isFinite(d)) return;
    const whole = !this.parts.length || this.isWhole();
    this.duration = d;
    if (whole) this.parts = [[0, d]];
    this.parts = this.parts.map(([a, b]) => [Math.min(a, d), Math.min(b, d)]).filter(([a, b]) => b > a);
    this.render();
  }

  async loadWave(url) {
    try {
      const resp = await fetch(url, { credentials: "same-origin" });
      if (!resp.ok) return;
      const j = await resp.json();
      if (j.version !== 2 || !Array.isArray(j.data) || !j.sample_rate || !j.samples_per_pixel) return;
      this.wave = j;
      this.track.classList.remove("tl-plain");
      this.root.dataset.waveform = "true";
      this.drawWave();
    } catch (_) { /* no waveform: a plain track */ }
  }

  async loadStoryboard(url) {
    try {
      const resp = await fetch(url, { credentials: "same-origin" });
      if (!resp.ok) return;
      const text = await resp.text();
      const base = new URL(url, location.href);
      const cues = [];
      for (const block of text.replace(/\r/g, "").split(/\n\n+/)) {
        const lines = block.split("\n");
        const i = lines.findIndex((l) => l.includes("-->"));
        if (i < 0 || !lines[i + 1]) continue;
        const [a, b] = lines[i].split("-->").map((s) => parseTC(s.trim().split(/\s/)[0]));
        const m = /^(.*)#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec(lines[i + 1].trim());
        if (!m || !(b > a)) continue;
        cues.push({ start: a, end: b, src: new URL(m[1], base).href, x: +m[2], y: +m[3], w: +m[4], h: +m[5] });
      }
      if (!cues.length) return;
      // The sprite's size scales the background; read it once.
      const img = new Image();
      img.src = cues[0].src;
      await img.decode();
      this.sprite = { w: img.naturalWidth, h: img.naturalHeight };
      this.thumbs = cues;
      this.root.dataset.storyboard = "true";
      this.drawThumbs();
    } catch (_) { /* no thumbnails: a plain track */ }
  }

  // --- model ----------------------------------------------------------------------------------

  frame() { return 1 / this.fps; }

  snap(t) {
    const s = Math.round(t * this.fps) / this.fps;
    return Math.min(Math.max(0, Math.round(s * 1000) / 1000), this.duration || Infinity);
  }

  now() { return this.snap(this.video.currentTime || 0); }

  isWhole() {
    return this.parts.length === 1 && this.parts[0][0] <= 0 && this.parts[0][1] >= this.duration - this.frame() / 2;
  }

  result() { return this.parts.reduce((s, [a, b]) => s + b - a, 0); }

  partAt(t, closing) {
    return this.parts.findIndex(([a, b]) => (closing ? t > a && t <= b : t >= a && t < b));
  }

  say(key, ...args) {
    this.msg.textContent = key ? this.t(key, ...args) : "";
  }

  markIn() {
    const t = this.now(), f = this.frame();
    let i = this.partAt(t, false);
    if (i >= 0) {
      if (this.parts[i][1] - t < f) return this.say("tl.err.short");
      this.parts[i][0] = t;
    } else {
      // In removed material: the next part starts here, or a new part runs to the end.
      i = this.parts.findIndex(([a]) => a > t);
      if (i >= 0) this.parts[i][0] = t;
      else if (this.duration - t >= f) this.parts.push([t, this.duration]);
      else return this.say("tl.err.short");
    }
    this.say("tl.did.in", fmt(t));
    this.render();
  }

  markOut() {
    const t = this.now(), f = this.frame();
    let i = this.partAt(t, true);
    if (i >= 0) {
      if (t - this.parts[i][0] < f) return this.say("tl.err.short");
      this.parts[i][1] = t;
    } else {
      // In removed material: the previous part ends here, or a new part runs from the start.
      i = this.parts.map(([, b]) => b < t).lastIndexOf(true);
      if (i >= 0) this.parts[i][1] = t;
      else if (t >= f) this.parts.unshift([0, t]);
      else return this.say("tl.err.short");
    }
    this.say("tl.did.out", fmt(t));
    this.render();
  }

  split() {
    const t = this.now(), f = this.frame();
    const i = this.partAt(t, false);
    if (i < 0) return this.say("tl.err.gap");
    const [a, b] = this.parts[i];
    if (t - a < f || b - t < f) return this.say("tl.err.edge");
    this.parts.splice(i, 1, [a, t], [t, b]);
    this.say("tl.did.split", fmt(t));
    this.render();
  }

  remove() {
    const i = this.partAt(this.now(), false);
    if (i < 0) return this.say("tl.err.gap");
    this.removePart(i);
  }

  removePart(i) {
    if (this.parts.length === 1) return this.say("tl.err.last");
    const [a, b] = this.parts[i];
    this.parts.splice(i, 1);
    this.say("tl.did.delete", fmt(a), fmt(b));
    this.render();
  }

  // moveEdge sets an edge of part i (end: its end) to t, kept between its neighbours and at
  // least a frame from its other edge.
  moveEdge(i, end, t) {
    const f = this.frame(), p = this.parts[i];
    t = this.snap(t);
    if (end) {
      const max = i + 1 < this.parts.length ? this.parts[i + 1][0] : this.duration;
      p[1] = Math.min(Math.max(t, p[0] + f), max);
    } else {
      const min = i > 0 ? this.parts[i - 1][1] : 0;
      p[0] = Math.max(Math.min(t, p[1] - f), min);
    }
    p[0] = Math.round(p[0] * 1000) / 1000;
    p[1] = Math.round(p[1] * 1000) / 1000;
  }

  addChapter(start, title, docs, focus) {
    const n = this.chapters.length;
    const c = { start: this.snap(start), title: el("input", { id: `${this.p}-ch-${n}-${Math.round(start * 1000)}`, value: title || "" }) };
    c.tags = el("input", { id: `${c.title.id}-tags`, value: tagText(docs), placeholder: "nextcloud@28.0.2", "aria-describedby": this.id("tags-help") });
    const seek = el("button", { type: "button", class: "link tl-seek", textContent: fmt(c.start), "aria-label": this.t("tl.seekto", fmt(c.start)) });
    seek.addEventListener("click", () => this.seek(c.start));
    const del = el("button", { type: "button", class: "secondary small", textContent: this.t("tl.remove"),
      "aria-label": this.t("tl.chapter.remove", fmt(c.start)) });
    c.li = el("li", { class: "tl-chapter" }, seek,
      el("span", { class: "field" }, el("label", { htmlFor: c.title.id, textContent: this.t("tl.chapter.title") }), c.title),
      el("span", { class: "field" }, el("label", { htmlFor: c.tags.id, textContent: this.t("tl.chapter.tags") }), c.tags),
      del);
    del.addEventListener("click", () => { this.chapters.splice(this.chapters.indexOf(c), 1); c.li.remove(); this.drawMarks(); });
    // Enter in a chapter's field must not send the upload form around the editor.
    for (const input of [c.title, c.tags]) input.addEventListener("keydown", (e) => { if (e.key === "Enter") e.preventDefault(); });
    this.chapters.push(c);
    this.chapters.sort((x, y) => x.start - y.start);
    this.chaptersEl.textContent = "";
    this.chaptersEl.append(...this.chapters.map((x) => x.li));
    if (!document.getElementById(this.id("tags-help"))) {
      this.chaptersEl.after(el("p", { class: "help", id: this.id("tags-help"), textContent: this.t("tl.chapter.tags.help") }));
    }
    this.drawMarks();
    if (focus) c.title.focus();
  }

  // keep is the API's edits.keep (null: the whole recording, no edit).
  // Before the media's duration is known nothing was marked: the whole recording, not an
  // empty cut that the server would refuse.
  keep() {
    if (!(this.duration > 0)) return null;
    return this.isWhole() ? null : this.parts.map(([a, b]) => [fmt(a), fmt(b)]);
  }

  // chapterList is the API's chapters (source time); those without a title are left out.
  chapterList() {
    return this.chapters.filter((c) => c.title.value.trim()).map((c) => {
      const o = { start: fmt(c.start), title: c.title.value.trim() };
      const docs = parseTags(c.tags.value);
      if (docs.length) o.documents = docs;
      return o;
    });
  }

  // --- playback -------------------------------------------------------------------------------

  seek(t) {
    const d = this.duration || this.video.duration || 0;
    this.video.currentTime = Math.min(Math.max(0, t), d);
    this.tick();
  }

  tick() {
    const t = this.video.currentTime || 0;
    this.timeOut.value = fmt(t);
    this.timeOut.textContent = fmt(t);
    if (this.duration) this.head.style.left = `${(100 * t) / this.duration}%`;
    this.partBox.querySelectorAll(".tl-part").forEach((p, i) => p.classList.toggle("current", this.partAt(t, false) === i));
    this.skip();
  }

  loop() {
    const step = () => {
      if (this.video.paused || this.video.ended) return;
      this.tick();
      this.follow();
      if (this.video.requestVideoFrameCallback) this.video.requestVideoFrameCallback(step);
      else requestAnimationFrame(step);
    };
    step();
  }

  // skip is the preview: in removed material the player jumps to the next kept part, and
  // pauses at the end of the last one.
  skip() {
    if (!this.preview.checked || !this.parts.length) return;
    const t = this.video.currentTime, eps = 0.002;
    if (this.parts.some(([a, b]) => t >= a - eps && t < b - eps)) return;
    const next = this.parts.find(([a]) => a > t - eps);
    if (next) this.video.currentTime = next[0];
    else {
      this.video.pause();
      this.video.currentTime = this.parts[this.parts.length - 1][1];
    }
  }

  // follow keeps the play head in view when zoomed in.
  follow() {
    if (this.zoom === 1 || !this.duration) return;
    const x = (this.video.currentTime / this.duration) * this.track.clientWidth, s = this.scroll;
    if (x < s.scrollLeft || x > s.scrollLeft + s.clientWidth - 20) s.scrollLeft = Math.max(0, x - s.clientWidth / 3);
  }

  at(clientX) {
    const r = this.track.getBoundingClientRect();
    return this.snap(((clientX - r.left) / r.width) * this.duration);
  }

  // --- drawing --------------------------------------------------------------------------------

  render() {
    this.layoutParts();
    this.rangesEl.textContent = "";
    this.parts.forEach(([a, b], i) => {
      const del = el("button", { type: "button", class: "secondary small", textContent: this.t("tl.remove"),
        "aria-label": this.t("tl.part.remove", i + 1), disabled: this.parts.length === 1 });
      del.addEventListener("click", () => this.removePart(i));
      const seek = el("button", { type: "button", class: "link tl-seek", textContent: `${fmt(a)} – ${fmt(b)}`,
        "aria-label": this.t("tl.seekto", fmt(a)) });
      seek.addEventListener("click", () => this.seek(a));
      this.rangesEl.append(el("li", { data: { start: fmt(a), end: fmt(b) } }, seek, " ", del));
    });
    this.resultOut.textContent = this.t("tl.result", fmt(this.result()));
    this.root.dataset.result = fmt(this.result());
    this.root.dataset.parts = JSON.stringify(this.parts);
    this.drawMarks();
    this.tick();
  }

  layout() {
    this.track.style.width = `${100 * this.zoom}%`;
    this.drawWave();
    this.drawThumbs();
  }

  layoutParts() {
    const d = this.duration;
    this.partBox.textContent = "";
    if (!d) return;
    const pct = (t) => `${(100 * t) / d}%`;
    this.parts.forEach(([a, b], i) => {
      const edge = (end) => {
        const btn = el("button", { type: "button", class: `tl-edge ${end ? "tl-end" : "tl-start"}`, id: this.id(`edge-${i}-${end ? "end" : "start"}`),
          "aria-label": this.t(end ? "tl.edge.end" : "tl.edge.start", i + 1, fmt(end ? b : a)) });
        this.dragEdge(btn, i, end);
        return btn;
      };
      const part = el("div", { class: "tl-part" }, edge(false), edge(true));
      part.style.left = pct(a);
      part.style.width = pct(b - a);
      this.partBox.append(part);
    });
  }

  dragEdge(btn, i, end) {
    btn.addEventListener("pointerdown", (e) => {
      e.preventDefault();
      btn.setPointerCapture(e.pointerId);
      btn.focus();
      const move = (ev) => {
        this.moveEdge(i, end, this.at(ev.clientX));
        const p = btn.parentElement, [a, b] = this.parts[i];
        p.style.left = `${(100 * a) / this.duration}%`;
        p.style.width = `${(100 * (b - a)) / this.duration}%`;
        this.video.currentTime = end ? b : a;
      };
      const up = () => {
        btn.removeEventListener("pointermove", move);
        btn.removeEventListener("pointerup", up);
        btn.removeEventListener("pointercancel", up);
        this.render();
        document.getElementById(btn.id)?.focus();
      };
      btn.addEventListener("pointermove", move);
      btn.addEventListener("pointerup", up);
      btn.addEventListener("pointercancel", up);
    });
    btn.addEventListener("keydown", (e) => {
      if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
      e.preventDefault();
      const step = (e.shiftKey ? 1 : this.frame()) * (e.key === "ArrowLeft" ? -1 : 1);
      const p = this.parts[i];
      this.moveEdge(i, end, (end ? p[1] : p[0]) + step);
      this.video.currentTime = end ? this.parts[i][1] : this.parts[i][0];
      this.render();
      document.getElementById(btn.id)?.focus();
      this.say(end ? "tl.edge.end" : "tl.edge.start", i + 1, fmt(end ? this.parts[i][1] : this.parts[i][0]));
    });
  }

  drawMarks() {
    this.markBox.textContent = "";
    if (!this.duration) return;
    for (const c of this.chapters) {
      const m = el("span", { class: "tl-mark" });
      m.style.left = `${(100 * c.start) / this.duration}%`;
      this.markBox.append(m);
    }
  }

  drawWave() {
    const w = this.wave, cv = this.canvas;
    if (!w || !this.duration) return;
    const dpr = window.devicePixelRatio || 1;
    const width = Math.min(16384, Math.max(1, Math.round(this.track.clientWidth * dpr)));
    const height = Math.round((cv.clientHeight || 48) * dpr);
    cv.width = width;
    cv.height = height;
    const g = cv.getContext("2d");
    g.clearRect(0, 0, width, height);
    g.fillStyle = getComputedStyle(this.root).getPropertyValue("--tl-wave").trim() || "#0b5cad";
    const perSec = w.sample_rate / w.samples_per_pixel, n = Math.min(w.length || w.data.length / 2, w.data.length / 2);
    const mid = height / 2, scale = height / 256;
    for (let x = 0; x < width; x++) {
      // The buckets under this pixel column: their lowest min and highest max.
      const i0 = Math.floor(((x / width) * this.duration) * perSec);
      const i1 = Math.max(i0 + 1, Math.floor((((x + 1) / width) * this.duration) * perSec));
      let lo = 127, hi = -128;
      for (let i = i0; i < i1 && i < n; i++) {
        lo = Math.min(lo, w.data[2 * i]);
        hi = Math.max(hi, w.data[2 * i + 1]);
      }
      if (hi < lo) continue;
      g.fillRect(x, mid - hi * scale, 1, Math.max(1, (hi - lo) * scale));
    }
  }

  drawThumbs() {
    this.thumbBox.textContent = "";
    if (!this.thumbs.length || !this.duration || !this.sprite) return;
    const H = this.thumbBox.clientHeight || 40, c0 = this.thumbs[0];
    const s = H / c0.h, tw = c0.w * s, W = this.track.clientWidth;
    const n = Math.max(1, Math.floor(W / tw));
    for (let k = 0; k < n; k++) {
      const t = ((k + 0.5) / n) * this.duration;
      const c = this.thumbs.find((q) => t >= q.start && t < q.end) || this.thumbs[this.thumbs.length - 1];
      const d = el("span", { class: "tl-thumb" });
      d.style.left = `${(100 * k) / n}%`;
      d.style.width = `${tw}px`;
      d.style.backgroundImage = `url(${JSON.stringify(c.src)})`;
      d.style.backgroundSize = `${this.sprite.w * s}px ${this.sprite.h * s}px`;
      d.style.backgroundPosition = `-${c.x * s}px -${c.y * s}px`;
      this.thumbBox.append(d);
    }
  }
}
