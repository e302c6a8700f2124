// Atelier studio: upload with a progress bar (XMLHttpRequest upload events), then the job's live
// progress from Server-Sent Events; "reschedule" buttons of the freshness to-do list.
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var form = document.getElementById("upload");
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
})();
