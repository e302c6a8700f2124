// Atelier player: HLS where the browser plays it (natively, or through hls.js when the build
// vendored it and the browser has Media Source Extensions), the MP4 otherwise. Chapter links seek.
(function () {
  "use strict";
  var ladderPoll = 10000;
  var video = document.getElementById("player");
  if (!video) return;
  // data-hls is the master of the replay's render generation, pinned to it: a re-cut switches
  // the replay to a new generation and removes this one, whose URLs then answer 404 rather than
  // hand out the new cut's segments under the old names. data-hls-current is the master of
  // whichever generation is current: the player starts again from there, where the learner was.
  var hls = video.dataset.hls;
  var current = video.dataset.hlsCurrent || hls;
  // resumeAt plays the element's new source from at (seconds), playing if it was.
  var resumeAt = function (at, resume) {
    video.addEventListener("loadedmetadata", function () {
      if (at > 0) video.currentTime = at;
      if (resume) { var p = video.play(); if (p && p.catch) p.catch(function () {}); }
    }, { once: true });
  };
  // toMP4 falls back to the MP4 (the download) where the learner was.
  var toMP4 = function (at, resume) {
    video.dataset.fallback = "mp4";
    resumeAt(at, resume);
    video.src = video.dataset.mp4;
  };
  if (hls) {
    if (window.Hls && window.Hls.isSupported()) {
      var h = null;
      var levels = null; // the absolute URLs of the renditions the current hls.js loaded
      var start = function (src, at, resume) {
        // Subtitles come from the <track> elements (same files, replay time): hls.js must not add
        // its own copies of the playlist's subtitle renditions.
        var cfg = { capLevelToPlayerSize: true, enableWebVTT: false, enableCEA708Captions: false };
        if (at > 0) cfg.startPosition = at;
        var hh = h = new window.Hls(cfg);
        var played = false; // a fragment of this source loaded
        hls = src;
        levels = null;
        hh.on(window.Hls.Events.FRAG_LOADED, function () { played = true; });
        hh.on(window.Hls.Events.ERROR, function (_, data) {
          if (!data.fatal) return;
          var at = video.currentTime, resume = !video.paused;
          hh.destroy(); h = null;
          // Files gone after they played (a re-cut removed this generation), or a pinned master
          // gone before: the current master. A source that never played: the MP4.
          if (played || src !== current) start(current, at, resume);
          else toMP4(at, resume);
        });
        hh.on(window.Hls.Events.MANIFEST_LOADED, function (_, data) {
          levels = data.levels.map(function (l) { return l.url; }).sort().join("\n");
          if (resume) { var p = video.play(); if (p && p.catch) p.catch(function () {}); }
        });
        hh.loadSource(src);
        hh.attachMedia(video);
      };
      start(hls, 0, false);
      if ("hlsGrowing" in video.dataset) {
        watchLadder(function () { return hls; }, function () { return h ? levels : undefined; }, function () {
          // hls.js reads a master once: a new one means a new player, where this one was.
          var at = video.currentTime, resume = !video.paused;
          video.defaultPlaybackRate = video.playbackRate; // the new source starts at the default rate
          h.destroy();
          start(hls, at, resume);
        });
      }
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
      // The browser's own HLS (Safari, iOS, Chromium). Chromium's reads segments that come from
      // another origin (the bucket, in redirect mode) only as CORS requests, which the element
      // makes with crossorigin set; same-origin requests keep their cookies (drafts).
      video.crossOrigin = "anonymous";
      // If the stream cannot play: the current master once when this one was pinned (a re-cut
      // may have removed it), else the MP4, as after a fatal hls.js error; the MP4 as a plain
      // media request, since it plays without CORS.
      var native = true;
      var onError = function () {
        var at = video.currentTime, resume = !video.paused;
        if (hls !== current) {
          hls = current;
          video.addEventListener("error", onError, { once: true });
          resumeAt(at, resume);
          video.src = hls;
          return;
        }
        native = false;
        video.removeAttribute("crossorigin");
        toMP4(at, resume);
      };
      video.addEventListener("error", onError, { once: true });
      video.src = hls;
      if ("hlsGrowing" in video.dataset) {
        var seen = null; // the browser's player does not say what it loaded: the first look is it
        watchLadder(function () { return hls; }, function () { return native ? seen : undefined; }, function (now) {
          seen = now;
          var at = video.currentTime, resume = !video.paused;
          video.defaultPlaybackRate = video.playbackRate;
          resumeAt(at, resume);
          video.src = hls;
        }, function (now) { if (seen === null) seen = now; });
      }
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
  // A replay becomes playable with its first rendition; the others are added to its master as
  // they are encoded (the page says so: data-hls-growing). Players read a master once, so this
  // looks at it (masterOf(): the one the player reads now) again every ladderPoll ms (a conditional GET) and calls reload when its list of
  // renditions differs from what the player loaded (loaded(): their URLs, null while not known,
  // undefined once the player is gone), until the master's Atelier-Ladder header says "done".
  function watchLadder(masterOf, loaded, reload, first) {
    var tried = null; // the list last reloaded for: never twice for the same one
    var look = function () {
      var master = masterOf(); // the player may have moved to the current generation's
      var base = new URL(master, location.href);
      fetch(master, { cache: "no-cache", credentials: "same-origin" }).then(function (resp) {
        if (!resp.ok) throw new Error(resp.status);
        var more = resp.headers.get("Atelier-Ladder") === "pending";
        return resp.text().then(function (text) {
          var now = text.split(/\r?\n/).map(function (l) { return l.trim(); }).filter(function (l) { return l && l.charAt(0) !== "#"; })
            .map(function (l) { return new URL(l, base).href; }).sort().join("\n");
          if (first) first(now);
          var cur = loaded();
          if (cur === undefined) return false; // the MP4 plays instead: nothing to watch
          if (cur === null || now === cur || now === tried) return more;
          if (video.ended || video.seeking) return true; // not now: look again soon
          tried = now;
          reload(now);
          return more;
        });
      }).catch(function () { return true; }).then(function (again) {
        if (again) setTimeout(look, ladderPoll);
      });
    };
    look();
  }
  // ?t=SECONDS starts there (a link to a moment of the replay).
  var t = Number(new URLSearchParams(location.search).get("t"));
  if (t > 0) {
    video.addEventListener("loadedmetadata", function () { video.currentTime = t; }, { once: true });
  }
})();
