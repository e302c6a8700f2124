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
  document.querySelectorAll(".yours[data-software]").forEach(function (p) {
    var v = mine[p.dataset.software];
    if (!v) return;
    var msg = p.dataset.msgFits;
    if (p.dataset.until && cmp(v, p.dataset.until) >= 0) msg = p.dataset.msgNewer;
    else if (cmp(v, p.dataset.max) < 0) msg = p.dataset.msgOlder;
    msg = msg.replace("{name}", p.dataset.name).replace("{v}", v)
      .replace("{shown}", p.dataset.max).replace("{until}", p.dataset.until);
    p.textContent = msg + " ";
    var a = document.createElement("a");
    a.href = "/replays?software=" + encodeURIComponent(p.dataset.software) + "&version=" + encodeURIComponent(v);
    a.textContent = p.dataset.msgLink;
    if (embedded) { a.target = "_blank"; a.rel = "noopener"; }
    p.appendChild(a);
    p.hidden = false;
  });
})();
