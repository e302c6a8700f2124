// Atelier: the learner's "I use version X", remembered on their device (localStorage, per
// software, no account). The replays list applies it as its for= filter; the replay page and the
// embed say whether the replay matches it.
(function () {
  "use strict";
  var KEY = "atelier.versions";
  function load() {
    try { return JSON.parse(localStorage.getItem(KEY)) || {}; } catch (e) { return {}; }
  }
  function save(v) {
    try { localStorage.setItem(KEY, JSON.stringify(v)); } catch (e) { /* storage refused: not remembered */ }
  }
  // cmp orders versions well enough for a hint (the catalog's for= filter is the authority):
  // numeric parts compare as numbers, and a release beats its pre-releases (28.0.0 > 28.0.0-rc1).
  function cmp(a, b) {
    var x = String(a).replace(/^v/i, "").split(/[.\-+_]/), y = String(b).replace(/^v/i, "").split(/[.\-+_]/);
    for (var i = 0; i < Math.max(x.length, y.length); i++) {
      var p = x[i] === undefined ? "0" : x[i], q = y[i] === undefined ? "0" : y[i];
      var pn = /^\d+$/.test(p), qn = /^\d+$/.test(q);
      if (pn && qn) {
        if (Number(p) !== Number(q)) return Number(p) < Number(q) ? -1 : 1;
      } else if (pn !== qn) {
        return pn ? 1 : -1;
      } else if (p !== q) {
        return p < q ? -1 : 1;
      }
    }
    return 0;
  }
  var mine = load();

  var form = document.getElementById("filters");
  if (form && form.elements.software && form.elements.version) {
    var sw = form.elements.software, ver = form.elements.version;
    var q = new URLSearchParams(location.search);
    var asked = q.get("software");
    // A list of one software without a version asked: apply the remembered one. An empty
    // version= (the learner cleared the field) is an answer, and is respected.
    if (asked && !q.has("version") && mine[asked]) {
      q.set("version", mine[asked]);
      location.replace(location.pathname + "?" + q.toString());
      return;
    }
    form.addEventListener("submit", function () {
      var s = sw.value, v = ver.value.trim();
      if (!s) return;
      if (v) mine[s] = v; else delete mine[s];
      save(mine);
    });
    sw.addEventListener("change", function () {
      if (!ver.value || ver.dataset.remembered) {
        ver.value = mine[sw.value] || "";
        ver.dataset.remembered = "1";
      }
    });
    var note = document.getElementById("version-note");
    if (note && asked && mine[asked] && mine[asked] === q.get("version")) note.hidden = false;
  }

  var embedded = document.body.classList.contains("embed");
  // Replay page and embed: one line per software the replay shows. With a remembered version it
  // says whether the replay matches it; without one (on Atelier's own pages) it asks.
  function fill(p, msg) {
    return msg.replace("{name}", p.dataset.name).replace("{v}", mine[p.dataset.software] || "")
      .replace("{shown}", p.dataset.max).replace("{until}", p.dataset.until);
  }
  function render(p) {
    var slug = p.dataset.software, v = mine[slug];
    p.textContent = "";
    if (!v) {
      if (embedded) { p.hidden = true; return; }
      var form = document.createElement("form");
      form.className = "yours-form";
      var id = "yours-" + slug;
      var label = document.createElement("label");
      label.htmlFor = id;
      label.textContent = fill(p, p.dataset.msgAsk);
      var input = document.createElement("input");
      input.id = id;
      input.name = "version";
      input.inputMode = "decimal";
      input.autocomplete = "off";
      input.placeholder = p.dataset.max;
      var button = document.createElement("button");
      button.type = "submit";
      button.className = "secondary";
      button.textContent = p.dataset.msgSave;
      form.append(label, input, button);
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        var val = input.value.trim();
        if (!val) return;
        mine[slug] = val;
        save(mine);
        render(p);
        p.focus();
      });
      p.appendChild(form);
      p.hidden = false;
      return;
    }
    var msg = p.dataset.msgFits;
    if (p.dataset.until && cmp(v, p.dataset.until) >= 0) msg = p.dataset.msgNewer;
    else if (cmp(v, p.dataset.max) < 0) msg = p.dataset.msgOlder;
    p.append(fill(p, msg) + " ");
    var a = document.createElement("a");
    a.href = "/replays?software=" + encodeURIComponent(slug) + "&version=" + encodeURIComponent(v);
    a.textContent = p.dataset.msgLink;
    if (embedded) { a.target = "_blank"; a.rel = "noopener"; }
    p.appendChild(a);
    if (!embedded) {
      var change = document.createElement("button");
      change.type = "button";
      change.className = "link";
      change.textContent = p.dataset.msgChange;
      change.addEventListener("click", function () {
        delete mine[slug];
        save(mine);
        render(p);
        var i = p.querySelector("input");
        if (i) i.focus();
      });
      p.append(" ", change);
    }
    p.hidden = false;
  }
  document.querySelectorAll(".yours[data-software]").forEach(function (p) {
    p.tabIndex = -1;
    render(p);
  });
})();
