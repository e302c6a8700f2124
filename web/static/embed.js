// Atelier embed: start at the time the link asks for, as ?t= or the Media Fragments #t= form:
// 90, 90.5, 1:30, 00:01:30, npt:90, 1m30s, 1h2m3s; "#t=90,120" starts at 90.
(function () {
  "use strict";
  var video = document.getElementById("player");
  if (!video) return;

  function parseTime(s) {
    if (!s) return 0;
    try { s = decodeURIComponent(s); } catch (e) { return 0; }
    s = s.replace(/^npt:/, "").split(",")[0].trim();
    var m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(s);
    if (m && (m[1] || m[2] || m[3])) {
      return Number(m[1] || 0) * 3600 + Number(m[2] || 0) * 60 + Number(m[3] || 0);
    }
    var parts = s.split(":");
    if (parts.length > 3) return 0;
    var t = 0;
    for (var i = 0; i < parts.length; i++) {
      if (!/^\d+(\.\d+)?$/.test(parts[i])) return 0;
      t = t * 60 + Number(parts[i]);
    }
    return t;
  }
  function fromHash() {
    var m = /(?:^#|&)t=([^&]*)/.exec(location.hash);
    return m ? m[1] : "";
  }
  function seekTo(t) {
    if (!(t > 0)) return;
    if (video.readyState >= 1) video.currentTime = t;
    else video.addEventListener("loadedmetadata", function () { video.currentTime = t; }, { once: true });
  }
  seekTo(parseTime(new URLSearchParams(location.search).get("t")) || parseTime(fromHash()));
  window.addEventListener("hashchange", function () { seekTo(parseTime(fromHash())); });
})();
