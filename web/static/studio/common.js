// Shared by the studio's modules: the session's CSRF token, JSON calls to the API, copy buttons.
const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

// api calls the JSON API with the studio session; it rejects with the server's
// "field: error" text, which says what to fix.
export async function api(method, url, body) {
  const headers = { "X-CSRF-Token": csrf };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const resp = await fetch(url, {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await resp.text();
  let j = {};
  try { j = text ? JSON.parse(text) : {}; } catch (_) { /* not JSON: keep the status */ }
  if (!resp.ok) {
    const err = new Error((j.field ? j.field + ": " : "") + (j.error || resp.status));
    err.field = j.field;
    throw err;
  }
  return j;
}

// say writes a message into a live region (errors in the error style).
export function say(el, text, isError) {
  if (!el) return;
  el.textContent = text;
  el.classList.toggle("error", !!isError);
  el.hidden = false;
}

// wireCopy makes every button.copy copy the value of the input its data-copy names.
export function wireCopy(root = document) {
  root.querySelectorAll("button.copy").forEach((b) => {
    if (b.dataset.wired) return;
    b.dataset.wired = "1";
    b.addEventListener("click", async () => {
      const input = document.getElementById(b.dataset.copy);
      const status = b.closest(".banner").querySelector(".copy-status");
      input.select();
      try {
        await navigator.clipboard.writeText(input.value);
      } catch (_) {
        // Without the async clipboard (plain http on another host), the selection is copied.
        document.execCommand("copy");
      }
      say(status, b.dataset.done);
    });
  });
}
