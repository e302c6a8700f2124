// Atelier player: HLS where the browser plays it (natively, or through hls.js when the build
// vendored it and the browser has Media Source Extensions), the MP4 otherwise. Chapter links seek.
(function () {
  "use strict";
  var video = document.getElementById("player");
  if (!video) return;
  var hls = video.dataset.hls;
  if (hls) {
    if (window.Hls && window.Hls.isSupported()) {
      // Subtitles come from the <track> elements (same files, replay time): hls.js must not add
      // its own copies of the playlist's subtitle renditions.
      var h = new window.Hls({ capLevelToPlayerSize: true, enableWebVTT: false, enableCEA708Captions: false });
      h.on(window.Hls.Events.ERROR, function (_, data) {
        if (data.fatal) { h.destroy(); video.src = video.dataset.mp4; }
      });
      h.loadSource(hls);
      h.attachMedia(video);
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
      // The browser's own HLS (Safari, iOS, Chromium). Chromium's reads segments that come from
      // another origin (the bucket, in redirect mode) only as CORS requests, which the element
      // makes with crossorigin set; same-origin requests keep their cookies (drafts).
      video.crossOrigin = "anonymous";
      // If the stream cannot play, the MP4 plays instead, as after a fatal hls.js error; as a
      // plain media request, since the MP4 plays without CORS.
      video.addEventListener("error", function () {
        video.removeAttribute("crossorigin");
        video.src = video.dataset.mp4;
      }, { once: true });
      video.src = hls;
    }
    // Otherwise the <source> MP4 plays.
  }
  document.querySelectorAll("[data-start]").forEach(function (a) {
    a.addEventListener("click", function (e) {
      e.preventDefault();
      video.currentTime = Number(a.dataset.start) / 1000;
      video.focus();
      var p = video.play();
      if (p && p.catch) p.catch(function () {});
    });
  });
  // Seek thumbnails: the storyboard (a WebVTT of sprite regions, "storyboard.jpg#xywh=x,y,w,h")
  // gives each chapter link a picture of where it jumps.
  var sb = video.querySelector('track[kind="metadata"][label="storyboard"]');
  if (sb && sb.track) {
    sb.track.mode = "hidden";
    var drawThumbs = function () {
      var cues = sb.track.cues;
      if (!cues || !cues.length) return;
      document.querySelectorAll("[data-start]").forEach(function (a) {
        var t = Number(a.dataset.start) / 1000;
        for (var i = 0; i < cues.length; i++) {
          var c = cues[i];
          if (t >= c.startTime && (t < c.endTime || i === cues.length - 1)) {
            var m = /^(.*)#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec(c.text.trim());
            if (!m) return;
            var img = new URL(m[1], new URL(sb.src, location.href)).href;
            var span = document.createElement("span");
            span.className = "thumb";
            span.setAttribute("aria-hidden", "true");
            span.style.backgroundImage = "url(" + JSON.stringify(img) + ")";
            span.style.backgroundPosition = "-" + m[2] + "px -" + m[3] + "px";
            span.style.width = m[4] + "px";
            span.style.height = m[5] + "px";
            a.prepend(span);
            return;
          }
        }
      });
    };
    if (sb.readyState === 2) drawThumbs(); else sb.addEventListener("load", drawThumbs, { once: true });
  }
  // ?t=SECONDS starts there (a link to a moment of the replay).
  var t = Number(new URLSearchParams(location.search).get("t"));
  if (t > 0) {
    video.addEventListener("loadedmetadata", function () { video.currentTime = t; }, { once: true });
  }
})();
