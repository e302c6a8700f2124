// The upload form's cut editor: the timeline (timeline.js) over the chosen file, played
// locally through an object URL (nothing is sent before "Upload", and no waveform or
// thumbnails exist yet: a plain track). studio.js asks #cut for the edits when it sends.
import { Timeline } from "./timeline.js";

const box = document.getElementById("cut");
const form = document.getElementById("upload");
if (box && form) {
  const video = document.getElementById("cut-video");
  const root = document.getElementById("cut-timeline");
  const tl = new Timeline(root, { video, msgs: JSON.parse(root.dataset.msgs || "{}"), prefix: "cut" });
  let url = null;
  form.elements.source.addEventListener("change", () => {
    const file = form.elements.source.files[0];
    if (url) URL.revokeObjectURL(url);
    url = null;
    tl.load({ duration: 0 });
    if (!file) {
      box.hidden = true;
      video.removeAttribute("src");
      return;
    }
    url = URL.createObjectURL(file);
    video.src = url;
    box.hidden = false;
  });
  video.addEventListener("loadedmetadata", () => { tl.setDuration(video.duration); tl.layout(); });
  // cutApply adds the cut to the upload's meta (source time); the whole file: no edits.
  box.cutApply = (meta) => {
    if (box.hidden) return;
    const keep = tl.keep();
    if (keep) meta.edits = { keep };
    const chapters = tl.chapterList();
    if (chapters.length) meta.chapters = chapters;
    meta.cut = form.elements.cut.value;
  };
}
