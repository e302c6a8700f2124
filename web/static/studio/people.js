// /studio/people: create an animator's token (shown once, with a copy button) and revoke tokens,
// through /api/tokens.
import { api, say, wireCopy } from "./common.js";

const form = document.getElementById("new-token");
const list = document.getElementById("tokens");
const box = document.getElementById("new-secret");
const listStatus = document.getElementById("tokens-status");

function row(t) {
  const li = document.createElement("li");
  li.className = "row";
  li.dataset.id = t.id;
  const div = document.createElement("div");
  const name = document.createElement("strong");
  name.textContent = t.name;
  const meta = document.createElement("span");
  meta.className = "meta";
  const state = document.createElement("span");
  state.className = "state";
  state.textContent = form.dataset.active;
  meta.append(form.dataset.role + " · ", state);
  div.append(name, " ", meta);
  const b = document.createElement("button");
  b.type = "button";
  b.className = "secondary revoke";
  b.dataset.id = t.id;
  b.textContent = form.dataset.revoke;
  b.setAttribute("aria-label", form.dataset.revokeLabel.replace("{name}", t.name));
  li.append(div, b);
  return li;
}

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const err = document.getElementById("t-error");
  err.hidden = true;
  try {
    const t = await api("POST", "/api/tokens", { name: form.elements.name.value, role: "animator" });
    const empty = list.querySelector(".empty");
    if (empty) empty.remove();
    list.prepend(row(t));
    const secret = document.getElementById("secret-value");
    secret.value = t.token;
    box.hidden = false;
    box.querySelector(".copy-status").textContent = "";
    box.focus();
    form.reset();
  } catch (ex) {
    say(err, ex.message, true);
    form.elements.name.focus();
  }
});

list.addEventListener("click", async (e) => {
  const b = e.target.closest("button.revoke");
  if (!b) return;
  b.disabled = true;
  try {
    await api("DELETE", "/api/tokens/" + encodeURIComponent(b.dataset.id));
    const li = b.closest("li");
    li.querySelector(".state").textContent = form.dataset.revoked;
    say(listStatus, form.dataset.revokedWho.replace("{name}", li.querySelector("strong").textContent));
    b.remove();
  } catch (ex) {
    b.disabled = false;
    say(listStatus, ex.message, true);
  }
});

wireCopy();
