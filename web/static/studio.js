// Atelier studio: upload with a progress bar (resumable through studio/upload.js, else one
// XMLHttpRequest), then the job's live
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
      if (window.AtelierUpload) { // resumable (studio/upload.js)
        window.AtelierUpload.send(file, meta, {
          progress: function (f) { bar.value = f; },
          resumed: function () { phase.textContent = form.dataset.resuming; }
        }).then(function (body) { follow(body.id); }, function (err) {
          result.textContent = form.dataset.failed + err.message;
          result.className = "error";
        });
        return;
      }
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

  // The cut editor is the timeline of web/static/studio/upload-cut.js (a module): it hangs the
  // function that adds the cut to the meta on #cut.
  function cutEditor() {
    return {
      apply: function (meta) {
        var box = document.getElementById("cut");
        if (box && box.cutApply) box.cutApply(meta);
      }
    };
  }
})();
