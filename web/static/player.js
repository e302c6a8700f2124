// Atelier player: HLS where the browser plays it (natively, or through hls.js when the build
// vendored it and the browser has Media Source Extensions), the MP4 otherwise. Chapter links seek.
(function () {
  "use strict";
  var video = document.getElementById("player");
  if (!video) return;
  var hls = video.dataset.hls;
  if (hls) {
    if (window.Hls && window.Hls.isSupported()) {
      var h = new window.Hls({ capLevelToPlayerSize: true });
      h.on(window.Hls.Events.ERROR, function (_, data) {
        if (data.fatal) { h.destroy(); video.src = video.dataset.mp4; }
      });
      h.loadSource(hls);
      h.attachMedia(video);
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
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
  // ?t=SECONDS starts there (a link to a moment of the replay).
  var t = Number(new URLSearchParams(location.search).get("t"));
  if (t > 0) {
    video.addEventListener("loadedmetadata", function () { video.currentTime = t; }, { once: true });
  }
})();
