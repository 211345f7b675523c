// The explorer's controls: every change asks the server for an image; only the answer to
// the latest request is shown, and any error message replaces the last one.
"use strict";
const info = {{ info|tojson }};
const $ = (id) => document.getElementById(id);
const state = { code: null, latest: 0, pending: 0, started: 0 };

function showError(message) { $("error").textContent = message || ""; }

function busy(delta) {
  state.pending += delta;
  if (delta > 0 && state.pending === 1) state.started = performance.now();
  $("busy").classList.toggle("on", state.pending > 0);
}
setInterval(() => {
  if (state.pending > 0) {
    const s = ((performance.now() - state.started) / 1000).toFixed(1);
    $("busy-text").textContent = `rendering… ${s} s`;
  }
}, 100);

async function call(url, options) {
  busy(1);
  try {
    const response = await fetch(url, options);
    let body;
    try { body = await response.json(); } catch (e) { body = { error: `${response.status} ${response.statusText}` }; }
    if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
    return body;
  } finally { busy(-1); }
}

function sampler() {
  return { seed: Number($("seed").value), steps: Number($("steps").value), guidance: Number($("guidance").value) };
}

function drawnBy(d) {
  const how = `drawn by ${d.generator}: ${d.steps} ${d.solver} steps, guidance ${d.guidance}`;
  return d.fell_back ? `${how} (the ${info.generator} student serves guidance ${info.guidance} only)` : how;
}

function fine() {
  return Array.from(document.querySelectorAll("input.fine")).map((el) => Number(el.value));
}

function setCode(code) {
  state.code = code;
  document.querySelectorAll("input.bit").forEach((el) => { el.checked = ((code >> Number(el.dataset.bit)) & 1) === 1; });
  document.querySelectorAll("#gallery button").forEach((el) => el.classList.toggle("chosen", Number(el.dataset.code) === code));
  $("code-label").textContent = code === null ? "" : `code ${code}`;
}

async function render() {
  const id = ++state.latest;
  try {
    const body = await call("/api/render", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ code: state.code, fine: fine(), ...sampler() }),
    });
    if (id !== state.latest) return;
    $("image").src = body.image;
    $("image").dataset.version = String(id);
    const moved = body.fine.map((v, d) => [d, v]).filter(([, v]) => v !== 0)
      .map(([d, v]) => `direction ${d} at ${v > 0 ? "+" : ""}${v}σ`);
    $("rendered").textContent = [body.code === null ? "no code" : `code ${body.code}`, ...moved, `seed ${body.seed}`].join(", ");
    $("drawn-by").textContent = drawnBy(body.drawn_by);
    $("nearest").src = body.nearest;
    showError("");
  } catch (err) { if (id === state.latest) showError(err.message); }
}

async function loadGallery() {
  try {
    const tiles = await call("/api/gallery");
    const gallery = $("gallery");
    gallery.textContent = "";
    for (const tile of tiles) {
      const button = document.createElement("button");
      button.dataset.code = tile.code;
      button.title = `code ${tile.code}: ${tile.size} training images`;
      const img = document.createElement("img");
      img.src = tile.image; img.alt = `code ${tile.code}`;
      button.append(img, `${tile.code}`);
      button.addEventListener("click", () => { setCode(tile.code); render(); });
      gallery.append(button);
    }
    setCode(tiles[0].code);
  } catch (err) { showError(err.message); }
  render();
}

async function upload(file) {
  const form = new FormData();
  form.append("image", file);
  for (const [k, v] of Object.entries(sampler())) form.append(k, String(v));
  try {
    const body = await call("/api/upload", { method: "POST", body: form });
    $("upload-image").src = body.image;
    $("upload-code").textContent = body.code === null ? "none" : String(body.code);
    $("nearest-codes").textContent = body.nearest_codes.map((c) => `${c.code} (${c.count})`).join(", ") || "none";
    $("variations").src = body.variations;
    $("variations-drawn-by").textContent = drawnBy(body.drawn_by);
    $("upload-result").hidden = false;
    showError("");
  } catch (err) { showError(err.message); }
}

document.querySelectorAll("input.fine").forEach((el) => el.addEventListener("input", () => {
  $(`${el.id}-value`).textContent = el.value; render();
}));
document.querySelectorAll("input.bit").forEach((el) => el.addEventListener("change", () => {
  let code = 0;
  document.querySelectorAll("input.bit").forEach((b) => { if (b.checked) code |= 1 << Number(b.dataset.bit); });
  setCode(code); render();
}));
["seed", "steps", "guidance"].forEach((id) => $(id).addEventListener("change", render));
$("upload").addEventListener("change", (e) => { if (e.target.files.length) upload(e.target.files[0]); });
const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault(); drop.classList.remove("over");
  if (e.dataTransfer.files.length) upload(e.dataTransfer.files[0]);
});

if (info.num_codes) loadGallery(); else render();
