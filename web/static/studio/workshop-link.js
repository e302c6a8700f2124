// Atelier studio: the upload form's "workshop recorded" select, filled from /api/workshops
// (the upcoming ones and those of the last 60 days: a recording usually comes after its
// workshop). The recording then carries workshop_id, and the workshop's calendar event links to
// the replay once it is published.
const sel = document.getElementById("u-workshop");
if (sel) {
  const lang = document.documentElement.lang || "en";
  const from = new Date(Date.now() - 60 * 24 * 3600 * 1000).toISOString().slice(0, 10);
  fetch("/api/workshops?limit=100&from=" + from, { credentials: "same-origin" })
    .then((r) => (r.ok ? r.json() : { items: [] }))
    .then((res) => {
      const mine = (document.getElementById("studio-hello") || {}).dataset?.name || "";
      const items = res.items.slice().sort((a, b) => (b.animator === mine) - (a.animator === mine));
      for (const w of items) {
        const f = new Intl.DateTimeFormat(lang, { timeZone: w.timezone, dateStyle: "medium", timeStyle: "short" });
        // A workshop over has no next occurrence: its local start, as stored, tells it.
        const when = w.next_occurrence ? f.format(new Date(w.next_occurrence)) : w.starts_at.replace("T", " ").slice(0, 16);
        const o = document.createElement("option");
        o.value = w.id;
        o.textContent = w.title + " — " + when + (w.animator ? " · " + w.animator : "");
        sel.append(o);
      }
    })
    .catch(() => { /* the select keeps "None": uploading still works */ });
}
