// Atelier seek bar: a range input under the player that previews the frame under the pointer,
// or at the position the keyboard moves to, from the storyboard sprite (storyboard.vtt, cues
// "storyboard.jpg#xywh=x,y,w,h"). The native controls give no hover hook, hence this bar; they
// stay as they are.
(function () {
  "use strict";
  var video = document.getElementById("player");
  var bar = document.getElementById("seek");
  if (!video || !bar) return;
  var range = document.getElementById("seek-range");
  var preview = document.getElementById("seek-preview");
  var thumb = document.getElementById("seek-thumb");
  var label = document.getElementById("seek-time");
  var vttURL = new URL(bar.dataset.storyboard, location.href);
  var cues = [];
  var dragging = false, hovering = false;

  function parseTS(s) {
    var p = s.trim().split(":"), t = 0;
    for (var i = 0; i < p.length; i++) t = t * 60 + parseFloat(p[i]);
    return t;
  }
  function parseVTT(text) {
    var out = [];
    text.replace(/\r/g, "").split(/\n\n+/).forEach(function (block) {
      var lines = block.split("\n");
      for (var i = 0; i < lines.length; i++) {
        var m = /^([\d:.]+)\s+-->\s+([\d:.]+)/.exec(lines[i]);
        if (!m) continue;
        var x = /^(.*)#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec((lines[i + 1] || "").trim());
        if (x) {
          out.push({ start: parseTS(m[1]), end: parseTS(m[2]), src: new URL(x[1], vttURL).href,
            x: Number(x[2]), y: Number(x[3]), w: Number(x[4]), h: Number(x[5]) });
        }
        return;
      }
    });
    return out;
  }
  function fmt(t) {
    t = Math.max(0, Math.floor(t));
    var h = Math.floor(t / 3600), m = Math.floor(t / 60) % 60, s = t % 60;
    return (h ? h + ":" + String(m).padStart(2, "0") : String(m)) + ":" + String(s).padStart(2, "0");
  }
  function duration() { return isFinite(video.duration) ? video.duration : 0; }
  function cueAt(t) {
    for (var i = 0; i < cues.length; i++) {
      if (t >= cues[i].start && (t < cues[i].end || i === cues.length - 1)) return cues[i];
    }
    return null;
  }
  function show(t) {
    var d = duration();
    if (!d) return;
    t = Math.min(Math.max(t, 0), d);
    var c = cueAt(t);
    if (c) {
      // CSSOM, not a style attribute: the Content-Security-Policy allows no inline style.
      thumb.style.backgroundImage = "url(" + JSON.stringify(c.src) + ")";
      thumb.style.backgroundPosition = "-" + c.x + "px -" + c.y + "px";
      thumb.style.width = c.w + "px";
      thumb.style.height = c.h + "px";
      thumb.hidden = false;
    } else {
      thumb.hidden = true;
    }
    label.textContent = fmt(t);
    preview.hidden = false;
    var pw = preview.offsetWidth;
    var x = range.offsetLeft + (t / d) * range.offsetWidth;
    preview.style.left = Math.min(Math.max(0, x - pw / 2), bar.clientWidth - pw) + "px";
  }
  function hide() { preview.hidden = true; }
  function valuetext(t) { range.setAttribute("aria-valuetext", fmt(t) + " / " + fmt(duration())); }
  function sync() {
    range.max = String(Math.max(1, Math.round(duration())));
    if (!dragging) range.value = String(video.currentTime);
    valuetext(video.currentTime);
  }

  bar.hidden = false;
  video.addEventListener("loadedmetadata", sync);
  video.addEventListener("durationchange", sync);
  video.addEventListener("timeupdate", function () { if (!dragging) sync(); });
  range.addEventListener("input", function () {
    var t = Number(range.value);
    video.currentTime = t;
    valuetext(t);
    show(t);
  });
  range.addEventListener("pointerdown", function () { dragging = true; });
  window.addEventListener("pointerup", function () {
    if (!dragging) return;
    dragging = false;
    if (!hovering && document.activeElement !== range) hide();
  });
  range.addEventListener("pointermove", function (e) {
    hovering = true;
    var r = range.getBoundingClientRect();
    show((e.clientX - r.left) / r.width * duration());
  });
  range.addEventListener("pointerleave", function () {
    hovering = false;
    if (!dragging) {
      if (document.activeElement === range) show(Number(range.value)); else hide();
    }
  });
  range.addEventListener("focus", function () { show(Number(range.value)); });
  range.addEventListener("blur", function () { if (!hovering) hide(); });
  range.addEventListener("keydown", function (e) { if (e.key === "Escape") hide(); });
  if (video.readyState >= 1) sync();

  fetch(vttURL.href).then(function (r) { return r.ok ? r.text() : ""; }).then(function (text) {
    cues = parseVTT(text);
    bar.dataset.cues = String(cues.length);
  }).catch(function () {});
})();
