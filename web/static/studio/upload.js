// Atelier studio: the recording's transport. The file goes to /api/uploads/ as a tus resumable
// upload (tus-js-client, vendored at build time), which retries after a network drop and, after a
// page reload, resumes when the same file is chosen again (its upload URL is kept in
// localStorage, by file name, size and date); then POST /api/recordings makes the recording of
// it. Without the vendored client the file goes in one multipart request, as before.
//
// studio.js calls window.AtelierUpload.send(file, meta, handlers) when it is set:
//   handlers.progress(fraction), handlers.resumed(fraction) → Promise of the 202's JSON body.

const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

function createRecording(uploadURL, meta) {
  const id = uploadURL.slice(uploadURL.lastIndexOf("/") + 1);
  return fetch("/api/recordings", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
    body: JSON.stringify({ upload: id, meta: meta }),
  }).then((resp) => resp.text().then((text) => {
    let body = {};
    try { body = JSON.parse(text); } catch (_) { /* not JSON: the status says it */ }
    if (!resp.ok) throw new Error((body.field ? body.field + ": " : "") + (body.error || resp.status));
    return body;
  }));
}

// tusError turns tus-js-client's error (which carries the server's response) into Atelier's text.
function tusError(err) {
  const res = err && err.originalResponse;
  if (res) {
    try {
      const body = JSON.parse(res.getBody());
      if (body.error) return new Error((body.field ? body.field + ": " : "") + body.error);
    } catch (_) { /* fall through */ }
  }
  return err instanceof Error ? err : new Error(String(err));
}

function send(file, meta, handlers) {
  const tus = window.tus;
  return new Promise((resolve, reject) => {
    const upload = new tus.Upload(file, {
      endpoint: "/api/uploads/",
      // Network drops: retry, then HEAD for the offset and send the rest.
      retryDelays: [0, 1000, 3000, 5000, 10000, 20000, 30000, 60000],
      headers: { "X-CSRF-Token": csrf },
      metadata: { filename: file.name, filetype: file.type },
      removeFingerprintOnSuccess: true,
      onProgress: (sent, total) => handlers.progress(total ? sent / total : 0),
      onError: (err) => reject(tusError(err)),
      onSuccess: () => createRecording(upload.url, meta).then(resolve, reject),
    });
    upload.findPreviousUploads().then((previous) => {
      if (previous.length) {
        upload.resumeFromPreviousUpload(previous[0]);
        handlers.resumed();
      }
      upload.start();
    }, reject);
  });
}

if (window.tus && window.tus.isSupported) {
  window.AtelierUpload = { send: send };
}
