// Atelier studio: upload with a progress bar (XMLHttpRequest upload events), then the job's live
// progress from Server-Sent Events; "reschedule" buttons of the freshness to-do list.
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var form = document.getElementById("upload");
  var cut = cutEditor();
  if (form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var status = document.getElementById("u-status");
      var bar = document.getElementById("u-progress");
      var phase = document.getElementById("u-phase");
      var result = document.getElementById("u-result");
      var docs = form.elements.documents.value.split(/[\n,]+/).map(function (s) { return s.trim(); })
        .filter(Boolean).map(function (s) {
          var i = s.lastIndexOf("@");
          return i > 0 ? { software: s.slice(0, i), version: s.slice(i + 1) } : { software: s, version: "" };
        });
      var meta = { title: form.elements.title.value, language: form.elements.language.value };
      if (form.elements.description.value) meta.description = form.elements.description.value;
      if (docs.length) meta.documents = docs;
      if (form.elements.publish.checked) meta.publication = "published";
      if (form.elements.workshop_id && form.elements.workshop_id.value) meta.workshop_id = form.elements.workshop_id.value;
      cut.apply(meta);
      var fd = new FormData();
      fd.append("meta", new Blob([JSON.stringify(meta)], { type: "application/json" }), "meta.json");
      var file = form.elements.source.files[0];
      fd.append("source", file, file.name);
      status.hidden = false;
      phase.textContent = form.dataset.uploading;
      bar.value = 0;
      result.textContent = "";
      var xhr = new XMLHttpRequest();
      xhr.open("POST", "/api/recordings");
      xhr.setRequestHeader("X-CSRF-Token", csrf);
      xhr.upload.onprogress = function (ev) { if (ev.lengthComputable) bar.value = ev.loaded / ev.total; };
      xhr.onload = function () {
        var body = {};
        try { body = JSON.parse(xhr.responseText); } catch (_) {}
        if (xhr.status >= 300) {
          result.textContent = form.dataset.failed + (body.field ? body.field + ": " : "") + (body.error || xhr.status);
          result.className = "error";
          return;
        }
        follow(body.id);
      };
      xhr.onerror = function () { result.textContent = form.dataset.failed + "network"; result.className = "error"; };
      xhr.send(fd);

      function follow(id) {
        phase.textContent = form.dataset.processing;
        bar.value = 0;
        var es = new EventSource("/api/recordings/" + encodeURIComponent(id) + "/events");
        var done = function (ok, msg) {
          es.close();
          result.className = ok ? "" : "error";
          result.innerHTML = "";
          if (ok) {
            result.append(form.dataset.ready);
            var a = document.createElement("a");
            a.href = "/replays/" + encodeURIComponent(id);
            a.textContent = meta.title;
            a.id = "u-replay";
            result.append(a);
          } else {
            result.append(form.dataset.failed + (msg || ""));
          }
        };
        es.onmessage = function (ev) { onJob(JSON.parse(ev.data)); };
        ["recording"].forEach(function (name) {
          es.addEventListener(name, function (ev) { onJob(JSON.parse(ev.data)); });
        });
        function onJob(j) {
          if (typeof j.progress === "number") bar.value = j.progress;
          if (j.stage) {
            var eta = typeof j.eta_seconds === "number" ? " · " + Math.max(0, Math.round(j.eta_seconds)) + " s" : "";
            phase.textContent = form.dataset.processing + " " + j.stage + eta;
          }
          var st = j.status || j.state;
          if (st === "ready" || st === "done" || st === "succeeded") { bar.value = 1; done(true); }
          else if (st === "failed" || st === "cancelled") done(false, j.error || st);
        }
      }
    });
  }
  document.querySelectorAll("button.reschedule").forEach(function (b) {
    b.addEventListener("click", function () {
      var out = b.nextElementSibling;
      fetch("/api/freshness/" + encodeURIComponent(b.dataset.id) + "/reschedule", {
        method: "POST", headers: { "X-CSRF-Token": csrf }, credentials: "same-origin"
      }).then(function (resp) {
        return resp.json().then(function (body) {
          if (!resp.ok) throw new Error(body.error || resp.status);
          out.innerHTML = "";
          var a = document.createElement("a");
          a.href = "/workshops/" + encodeURIComponent(body.id);
          a.textContent = b.dataset.done;
          out.append(a);
          b.disabled = true;
        });
      }).catch(function (err) { out.textContent = String(err.message || err); out.className = "error"; });
    });
  });

  function api(method, url, body, headers) {
    headers = Object.assign({ "X-CSRF-Token": csrf }, headers || {});
    return fetch(url, { method: method, headers: headers, body: body, credentials: "same-origin" }).then(function (resp) {
      return resp.text().then(function (text) {
        var j = {};
        try { j = JSON.parse(text); } catch (_) {}
        if (!resp.ok) throw new Error((j.field ? j.field + ": " : "") + (j.error || resp.status));
        return j;
      });
    });
  }
  document.querySelectorAll("button.publish").forEach(function (b) {
    b.addEventListener("click", function () {
      api("PATCH", "/api/replays/" + encodeURIComponent(b.dataset.id), JSON.stringify({ publication: "published" }),
        { "Content-Type": "application/json" }).then(function () {
        var pub = b.closest("td").querySelector(".pub");
        if (pub) pub.textContent = b.dataset.done;
        b.remove();
      }).catch(function (err) { b.after(document.createTextNode(" " + err.message)); });
    });
  });
  document.querySelectorAll("form.subs").forEach(function (f) {
    f.addEventListener("submit", function (e) {
      e.preventDefault();
      var file = f.elements.file.files[0], out = f.querySelector("[role=status]");
      var url = "/api/recordings/" + encodeURIComponent(f.dataset.id) + "/subtitles/" + encodeURIComponent(f.elements.lang.value) +
        (f.elements.reviewed.checked ? "" : "?status=draft");
      out.className = "";
      out.textContent = "…";
      api("PUT", url, file, { "Content-Disposition": 'attachment; filename="' + file.name.replace(/["\\\r\n]/g, "_") + '"' })
        .then(function (j) { out.textContent = j.lang + " · " + j.status + " · " + j.cue_count; })
        .catch(function (err) { out.className = "error"; out.textContent = err.message; });
    });
  });

  // The cut editor plays the chosen file locally (nothing is sent before "Upload") and turns
  // the marks into the upload's edits.keep and chapters, in source time.
  function cutEditor() {
    var box = document.getElementById("cut");
    var none = { apply: function () {} };
    if (!box || !form) return none;
    var video = document.getElementById("cut-video");
    var out = document.getElementById("cut-time");
    var rangesEl = document.getElementById("cut-ranges");
    var chaptersEl = document.getElementById("cut-chapters");
    var ranges = [], chapters = [], pendingIn = null, url = null;
    function fmt(t) {
      var ms = Math.round(t * 1000), h = Math.floor(ms / 3600000), m = Math.floor(ms / 60000) % 60,
        s = Math.floor(ms / 1000) % 60, f = ms % 1000;
      return [h, m, s].map(function (n) { return String(n).padStart(2, "0"); }).join(":") + "." + String(f).padStart(3, "0");
    }
    function render() {
      rangesEl.innerHTML = "";
      if (!ranges.length && pendingIn === null) {
        var li = document.createElement("li");
        li.textContent = rangesEl.dataset.none;
        rangesEl.append(li);
      }
      ranges.forEach(function (r, i) {
        var li = document.createElement("li");
        li.textContent = fmt(r[0]) + " – " + fmt(r[1]) + " ";
        var b = document.createElement("button");
        b.type = "button"; b.className = "secondary"; b.textContent = chaptersEl.dataset.remove;
        b.onclick = function () { ranges.splice(i, 1); render(); };
        li.append(b);
        rangesEl.append(li);
      });
      if (pendingIn !== null) {
        var p = document.createElement("li");
        p.textContent = fmt(pendingIn) + " – …";
        rangesEl.append(p);
      }
    }
    function mark(kind) {
      var t = video.currentTime;
      if (kind === "in") { pendingIn = t; }
      else if (kind === "out") {
        var start = pendingIn !== null ? pendingIn : (ranges.length ? ranges[ranges.length - 1][1] : 0);
        if (t > start) { ranges.push([start, t]); ranges.sort(function (a, b) { return a[0] - b[0]; }); }
        pendingIn = null;
      } else if (kind === "chapter") {
        addChapter(t);
        return;
      }
      render();
    }
    function addChapter(t) {
      var li = document.createElement("li");
      var id = "cut-ch-" + chapters.length + "-" + Math.round(t * 1000);
      var label = document.createElement("label");
      label.htmlFor = id;
      label.textContent = fmt(t) + " · " + chaptersEl.dataset.title;
      var input = document.createElement("input");
      input.id = id;
      var ch = { start: t, input: input };
      chapters.push(ch);
      var b = document.createElement("button");
      b.type = "button"; b.className = "secondary"; b.textContent = chaptersEl.dataset.remove;
      b.onclick = function () { chapters.splice(chapters.indexOf(ch), 1); li.remove(); };
      li.append(label, input, b);
      chaptersEl.append(li);
      input.focus();
    }
    form.elements.source.addEventListener("change", function () {
      var file = form.elements.source.files[0];
      if (url) URL.revokeObjectURL(url);
      ranges = []; pendingIn = null; chapters = []; chaptersEl.innerHTML = "";
      render();
      if (!file) { box.hidden = true; return; }
      url = URL.createObjectURL(file);
      video.src = url;
      box.hidden = false;
    });
    video.addEventListener("timeupdate", function () { out.value = fmt(video.currentTime); });
    document.getElementById("cut-in").onclick = function () { mark("in"); };
    document.getElementById("cut-out").onclick = function () { mark("out"); };
    document.getElementById("cut-chapter").onclick = function () { mark("chapter"); };
    box.addEventListener("keydown", function (e) {
      var tag = (e.target.tagName || "").toLowerCase();
      if (tag === "input" || tag === "textarea" || tag === "select" || e.ctrlKey || e.metaKey || e.altKey) return;
      var k = e.key.toLowerCase();
      if (k === "i") mark("in");
      else if (k === "o") mark("out");
      else if (k === "c") mark("chapter");
      else if (k === "j") video.currentTime = Math.max(0, video.currentTime - 5);
      else if (k === "l") video.currentTime = Math.min(video.duration || 0, video.currentTime + 5);
      else if (k === " " && e.target !== video) { if (video.paused) video.play(); else video.pause(); }
      else return;
      e.preventDefault();
    });
    return {
      apply: function (meta) {
        if (box.hidden) return;
        if (ranges.length) meta.edits = { keep: ranges.map(function (r) { return [fmt(r[0]), fmt(r[1])]; }) };
        var chs = chapters.filter(function (c) { return c.input.value.trim(); })
          .sort(function (a, b) { return a.start - b.start; })
          .map(function (c) { return { start: fmt(c.start), title: c.input.value.trim() }; });
        if (chs.length) meta.chapters = chs;
        meta.cut = form.elements.cut.value;
      }
    };
  }
})();
