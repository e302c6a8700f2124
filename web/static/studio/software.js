// /studio/software and /studio/software/{slug}: add software (from a preset or by hand), edit
// it, read its release feed now, confirm releases and set or clear interface_change, each in
// one click, through /api/software.
import { api, say } from "./common.js";

const esc = encodeURIComponent;

// Presets: one click adds the software, then its page opens to read its feed.
document.querySelectorAll("button.add-preset").forEach((b) => {
  b.addEventListener("click", async () => {
    b.disabled = true;
    const d = b.dataset;
    try {
      await api("POST", "/api/software", { slug: d.slug, name: d.name, homepage: d.homepage, release_feed: d.feed });
      location.assign("/studio/software/" + esc(d.slug));
    } catch (ex) {
      b.disabled = false;
      say(document.getElementById("presets-status"), d.name + ": " + ex.message, true);
    }
  });
});

const create = document.getElementById("new-software");
if (create) {
  create.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = create.elements;
    try {
      await api("POST", "/api/software", {
        slug: f.slug.value.trim(), name: f.name.value.trim(), homepage: f.homepage.value.trim(), release_feed: f.release_feed.value.trim(),
      });
      location.assign("/studio/software/" + esc(f.slug.value.trim()));
    } catch (ex) {
      say(create.querySelector(".error"), ex.message, true);
      if (ex.field && f[ex.field]) f[ex.field].focus();
    }
  });
}

const edit = document.getElementById("edit-software");
if (edit) {
  edit.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = edit.elements;
    const out = edit.querySelector("[role=status]");
    try {
      await api("PATCH", "/api/software/" + esc(edit.dataset.slug), {
        name: f.name.value.trim(), homepage: f.homepage.value.trim(), release_feed: f.release_feed.value.trim(),
      });
      say(out, edit.dataset.saved);
      const sync = document.getElementById("sync-now");
      sync.disabled = !f.release_feed.value.trim();
    } catch (ex) {
      say(out, ex.message, true);
      if (ex.field && f[ex.field]) f[ex.field].focus();
    }
  });
}

const sync = document.getElementById("sync-now");
if (sync) {
  sync.addEventListener("click", async () => {
    const out = document.getElementById("sync-status");
    sync.disabled = true;
    say(out, "…");
    try {
      const res = await api("POST", "/api/software/" + esc(sync.dataset.slug) + "/sync");
      const added = (res.added || []).map((r) => r.version);
      say(out, added.length ? sync.dataset.added + " " + added.join(", ") : sync.dataset.none);
      // The server renders the releases in order with their controls: show the new list.
      if (added.length) setTimeout(() => location.reload(), 800);
    } catch (ex) {
      say(out, ex.message, true);
    } finally {
      sync.disabled = false;
    }
  });
}

const releases = document.getElementById("releases");
if (releases) {
  const out = document.getElementById("releases-status");
  releases.addEventListener("click", async (e) => {
    const b = e.target.closest("button.ic, button.confirm");
    if (!b) return;
    const li = b.closest("li.release");
    const version = li.dataset.version;
    const ic = li.querySelector("button.ic");
    // One click confirms the release; the interface-change button also sets or clears the flag.
    const body = b === ic ? { interface_change: ic.getAttribute("aria-pressed") !== "true" } : {};
    b.disabled = true;
    try {
      const rel = await api("PATCH", "/api/software/" + esc(releases.dataset.slug) + "/releases/" + esc(version), body);
      ic.setAttribute("aria-pressed", rel.interface_change ? "true" : "false");
      if (rel.reviewed) {
        li.classList.remove("unreviewed");
        li.querySelector(".to-review").hidden = true;
        const confirm = li.querySelector("button.confirm");
        if (confirm) {
          if (document.activeElement === confirm) ic.focus();
          confirm.remove();
        }
      }
      say(out, version + " ✓");
    } catch (ex) {
      say(out, version + ": " + ex.message, true);
    } finally {
      b.disabled = false;
    }
  });
}
