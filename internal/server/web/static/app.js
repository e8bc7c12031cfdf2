// RetinalGPT web app: upload a photo, view overlays, read findings, chat.
// Plain ES2020, no dependencies; everything is fetched from this server.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const TOKEN_KEY = "retinalgpt.token";
  const state = { id: null, report: null, dataURI: null, messages: [], overlayURL: null, view: { s: 1, x: 0, y: 0 } };

  // ---- auth -------------------------------------------------------------
  function authHeaders(extra) {
    const h = Object.assign({}, extra || {});
    const t = sessionStorage.getItem(TOKEN_KEY);
    if (t) h["Authorization"] = "Bearer " + t;
    return h;
  }

  function askToken() {
    return new Promise((resolve) => {
      const dlg = $("token-dialog");
      const form = $("token-form");
      const onSubmit = () => {
        const v = $("token-input").value.trim();
        if (v) sessionStorage.setItem(TOKEN_KEY, v);
        form.removeEventListener("submit", onSubmit);
        resolve();
      };
      form.addEventListener("submit", onSubmit);
      if (typeof dlg.showModal === "function") dlg.showModal();
      else dlg.setAttribute("open", "");
      $("token-input").focus();
    });
  }

  // api fetches path with the token, asking for it (once) on 401.
  async function api(path, opts) {
    opts = opts || {};
    for (let attempt = 0; attempt < 3; attempt++) {
      const res = await fetch(path, Object.assign({}, opts, { headers: authHeaders(opts.headers) }));
      if (res.status !== 401) return res;
      sessionStorage.removeItem(TOKEN_KEY);
      await askToken();
    }
    throw new Error("not authorised");
  }

  async function errorText(res) {
    try {
      const j = await res.json();
      if (j && j.error) return j.error.message + (j.error.reasons ? ": " + j.error.reasons.join("; ") : "");
    } catch (e) { /* not JSON */ }
    return res.status + " " + res.statusText;
  }

  function setStatus(msg, isError) {
    const el = $("status");
    el.textContent = msg || "";
    el.classList.toggle("error", !!isError);
  }

  // ---- formatting ---------------------------------------------------------
  function fmt(v, d) {
    if (v === null || v === undefined || Number.isNaN(v)) return "—";
    if (typeof v !== "number") return String(v);
    return v.toFixed(d === undefined ? 2 : d);
  }
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v; else e.setAttribute(k, v);
    }
    for (const k of kids) if (k !== null && k !== undefined) e.append(k instanceof Node ? k : String(k));
    return e;
  }
  function table(head, rows) {
    const t = el("table");
    t.append(el("thead", null, el("tr", null, ...head.map((h) => el("th", { scope: "col" }, h)))));
    const tb = el("tbody");
    for (const r of rows) tb.append(el("tr", null, ...r.map((c, i) => el("td", i > 0 && head[i] !== "Unit" ? { class: "n" } : null, c))));
    t.append(tb);
    return t;
  }

  // ---- findings -----------------------------------------------------------
  function renderFindings(r) {
    const body = $("findings-body");
    body.textContent = "";
    const q = r.quality;
    body.append(el("h3", null, "Image quality"));
    if (q) {
      body.append(el("p", null, "Grade: ", el("span", { class: "grade " + q.grade }, q.grade),
        " · fundus photo: " + (q.modality && q.modality.is_fundus ? "yes" : "no")));
      for (const why of q.reasons || []) body.append(el("div", { class: "warn" }, why));
    } else body.append(el("p", { class: "note" }, "No quality assessment."));
    renderDiagnoses(body, r.diagnoses);
    const cal = r.calibration || {};
    body.append(el("p", { class: "note" }, "Calibration: " + (cal.source || "uncalibrated") + (cal.um_per_px ? " (" + fmt(cal.um_per_px, 3) + " µm/px)" : "")));

    body.append(el("h3", null, "Optic disc and cup"));
    const d = r.disc;
    if (d && d.found) {
      const c = d.cdr || {};
      const rows = [["Vertical CDR", fmt(c.vertical), "ratio"], ["Horizontal CDR", fmt(c.horizontal), "ratio"], ["Area CDR", fmt(c.area), "ratio"],
        ["Disc height × width", d.height_px + " × " + d.width_px, "px"]];
      if (d.height_um) rows.push(["Disc height × width", fmt(d.height_um, 0) + " × " + fmt(d.width_um, 0), "µm"]);
      if (d.rim) rows.push(["ISNT rule", d.rim.isnt, ""]);
      body.append(table(["Measure", "Value", "Unit"], rows));
    } else body.append(el("p", { class: "note" }, d ? "Disc not found: " + (d.reason || "") : "No disc assessment."));

    const v = r.vessels;
    body.append(el("h3", null, "Vessels"));
    if (v && v.measures) {
      const trees = [v.measures, v.artery, v.vein];
      const row = (name, unit, f, dgt) => [name, ...trees.map((m) => (m ? fmt(f(m), dgt) : "—")), unit];
      const rows = [
        ["Density in FOV", fmt(v.density_fov, 4), "—", "—", "fraction"],
        row("Fractal dimension", "—", (m) => m.fractal_dimension_mask, 4),
        row("Average width", "px", (m) => m.average_width_px, 2),
        row("Distance tortuosity", "arc/chord", (m) => m.distance_tortuosity, 4),
        row("Branching angle", "°", (m) => m.mean_branching_angle_deg, 1),
        row("Segments", "count", (m) => m.segment_count, 0),
        row("Centreline length", "px", (m) => m.centreline_length_px, 0),
      ];
      if (v.measures.average_width_um) rows.push(row("Average width", "µm", (m) => m.average_width_um, 1));
      body.append(table(["Measure", "All", "Arteries", "Veins", "Unit"], rows));
    } else body.append(el("p", { class: "note" }, "No vessel measures."));

    body.append(el("h3", null, "CRAE, CRVE, AVR (zone B)"));
    const cb = v && v.calibre;
    if (cb && cb.computed && cb.six_widest) {
      const k = cb.six_widest.knudtson || {}, h = cb.six_widest.hubbard || {};
      const px = (a, b) => fmt(a, 1) + " px" + (b ? " · " + fmt(b, 1) + " µm" : "");
      body.append(table(["Formula", "CRAE", "CRVE", "AVR"], [
        ["Knudtson", px(k.crae_px, k.crae_um), px(k.crve_px, k.crve_um), fmt(k.avr, 3)],
        ["Hubbard", h.crae_um ? fmt(h.crae_um, 1) + " µm" : "—", h.crve_um ? fmt(h.crve_um, 1) + " µm" : "—", fmt(h.avr, 3)],
      ]));
      for (const w of cb.six_widest.warnings || []) body.append(el("div", { class: "warn" }, w));
    } else body.append(el("p", { class: "note" }, cb ? "Not computed: " + (cb.absent || "") : "The artery/vein stage did not run."));

    if (r.lesions) {
      body.append(el("h3", null, "Lesions (experimental)"));
      body.append(table(["Type", "Count", "Area", "Unit"], (r.lesions.types || []).map((t) =>
        [t.name + " (" + t.type + ")" + (t.detected_by_model ? "" : " – not detectable"), String(t.count), fmt(t.area_px, 0), "px"])));
      if (r.lesions.caveat) body.append(el("p", { class: "note" }, r.lesions.caveat));
    }
    for (const na of r.not_assessed || []) body.append(el("p", { class: "note" }, "Not assessed: " + na.section + " — " + na.reason));
    if (r.warnings && r.warnings.length) {
      body.append(el("h3", null, "Warnings"));
      for (const w of r.warnings) body.append(el("div", { class: "warn" }, w));
    }
    $("findings").hidden = false;
  }

  // renderDiagnoses shows the report's disease judgements (schema 1.7.0):
  // label, probability against its threshold, the evidence, the caveat and
  // what could not be judged.
  function renderDiagnoses(body, dx) {
    if (!dx) return;
    const sec = el("div", { id: "diagnoses" });
    sec.append(el("h3", null, "Findings (screening aid)"));
    if (dx.caveat) sec.append(el("div", { class: "warn" }, dx.caveat));
    for (const f of dx.findings || []) {
      const card = el("div", { class: "dx" + (f.positive ? " pos" : ""), "data-key": f.key });
      card.append(el("div", { class: "dx-head" },
        el("span", { class: "dx-name" }, f.name + ": " + f.label),
        el("span", { class: "badge" + (f.positive ? " pos" : "") }, f.positive ? "positive" : "negative")));
      card.append(el("div", { class: "dx-num" }, "probability " + fmt(f.probability, 2) + " · threshold " + fmt(f.threshold, 2) +
        " · grade " + f.grade + " on " + f.scale));
      const ev = f.evidence || [];
      if (ev.length) {
        const ul = el("ul");
        for (const e of ev) ul.append(el("li", null, e.text + " ", el("span", { class: "src" }, "[" + e.source + "]")));
        card.append(ul);
      } else card.append(el("div", { class: "note" }, "No evidence given."));
      sec.append(card);
    }
    if (!(dx.findings || []).length) sec.append(el("p", { class: "note" }, "No finding could be judged."));
    for (const nj of dx.not_judged || []) sec.append(el("p", { class: "note" }, "Not assessed: " + nj.section + " — " + nj.reason));
    sec.append(el("p", { class: "note" }, "Evidence used: " + (dx.sources || []).join(", ") + (dx.model ? " · classifier " + dx.model : "")));
    body.append(sec);
  }

  // ---- overlay, zoom and pan ---------------------------------------------
  function selectedLayers() {
    const on = [...document.querySelectorAll("input[name=layer]:checked")].map((c) => c.value);
    return on.length ? on.join(",") : "none";
  }

  async function loadOverlay() {
    if (!state.id) return;
    const res = await api("/v1/analyses/" + encodeURIComponent(state.id) + "/overlay.png?layers=" + encodeURIComponent(selectedLayers()));
    if (!res.ok) { setStatus("Overlay: " + (await errorText(res)), true); return; }
    const url = URL.createObjectURL(await res.blob());
    const img = $("photo");
    const first = !state.overlayURL;
    img.onload = () => {
      sizeMarks();
      if (first) fit();
      if (state.overlayURL && state.overlayURL !== url) URL.revokeObjectURL(state.overlayURL);
      state.overlayURL = url;
    };
    img.src = url;
  }

  function applyView() {
    const v = state.view;
    const t = "translate(" + v.x + "px," + v.y + "px) scale(" + v.s + ")";
    $("photo").style.transform = t;
    $("marks").style.transform = t;
    $("zoom-level").textContent = Math.round(v.s * 100) + " %";
  }
  function fit() {
    const st = $("stage"), img = $("photo");
    if (!img.naturalWidth) return;
    const s = Math.min(st.clientWidth / img.naturalWidth, st.clientHeight / img.naturalHeight);
    state.view = { s, x: (st.clientWidth - img.naturalWidth * s) / 2, y: (st.clientHeight - img.naturalHeight * s) / 2 };
    applyView();
  }
  function zoomAt(factor, cx, cy) {
    const v = state.view;
    const s = Math.min(Math.max(v.s * factor, 0.05), 20);
    v.x = cx - (cx - v.x) * (s / v.s);
    v.y = cy - (cy - v.y) * (s / v.s);
    v.s = s;
    applyView();
  }
  function setupViewer() {
    const st = $("stage");
    st.addEventListener("wheel", (e) => {
      e.preventDefault();
      const r = st.getBoundingClientRect();
      zoomAt(e.deltaY < 0 ? 1.15 : 1 / 1.15, e.clientX - r.left, e.clientY - r.top);
    }, { passive: false });
    let drag = null;
    st.addEventListener("pointerdown", (e) => { drag = { x: e.clientX, y: e.clientY }; st.setPointerCapture(e.pointerId); st.classList.add("dragging"); });
    st.addEventListener("pointermove", (e) => {
      if (!drag) return;
      state.view.x += e.clientX - drag.x; state.view.y += e.clientY - drag.y;
      drag = { x: e.clientX, y: e.clientY };
      applyView();
    });
    const end = () => { drag = null; st.classList.remove("dragging"); };
    st.addEventListener("pointerup", end);
    st.addEventListener("pointercancel", end);
    const centre = () => [st.clientWidth / 2, st.clientHeight / 2];
    $("zoom-in").addEventListener("click", () => zoomAt(1.25, ...centre()));
    $("zoom-out").addEventListener("click", () => zoomAt(1 / 1.25, ...centre()));
    $("zoom-reset").addEventListener("click", fit);
    $("clear-marks").addEventListener("click", clearHighlights);
    window.addEventListener("resize", fit);
    for (const c of document.querySelectorAll("input[name=layer]")) c.addEventListener("change", loadOverlay);
  }

  // ---- upload -------------------------------------------------------------
  function readDataURI(file) {
    return new Promise((resolve, reject) => {
      const fr = new FileReader();
      fr.onload = () => resolve(fr.result);
      fr.onerror = () => reject(fr.error);
      fr.readAsDataURL(file);
    });
  }

  async function upload(file) {
    if (!file) return;
    if (file.type && !file.type.startsWith("image/")) { setStatus("“" + file.name + "” is not an image.", true); return; }
    setStatus("Analysing " + file.name + " …");
    try {
      const res = await api("/v1/analyses?name=" + encodeURIComponent(file.name), {
        method: "POST", body: file, headers: { "Content-Type": file.type || "application/octet-stream" },
      });
      if (!res.ok) { setStatus("Analysis failed: " + (await errorText(res)), true); return; }
      const r = await res.json();
      state.report = r;
      state.id = r.id || (res.headers.get("Location") || "").split("/").pop();
      state.dataURI = await readDataURI(file);
      state.messages = [];
      state.overlayURL = null;
      clearHighlights();
      $("messages").textContent = "";
      $("drop").hidden = true;
      $("stage").hidden = false;
      $("controls").hidden = false;
      $("question").disabled = false;
      $("send").disabled = false;
      renderFindings(r);
      setupDownloads();
      await loadOverlay();
      setStatus("Analysis " + state.id + " · " + file.name);
    } catch (e) {
      setStatus("Analysis failed: " + e.message, true);
    }
  }

  function setupUpload() {
    const drop = $("drop"), input = $("file");
    input.addEventListener("change", () => upload(input.files[0]));
    drop.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); input.click(); } });
    for (const ev of ["dragenter", "dragover"]) drop.addEventListener(ev, (e) => { e.preventDefault(); drop.classList.add("over"); });
    for (const ev of ["dragleave", "drop"]) drop.addEventListener(ev, () => drop.classList.remove("over"));
    drop.addEventListener("drop", (e) => { e.preventDefault(); upload(e.dataTransfer.files[0]); });
    $("new-photo").addEventListener("click", () => { $("drop").hidden = false; $("stage").hidden = true; $("controls").hidden = true; input.value = ""; drop.focus(); });
  }

  // ---- downloads ------------------------------------------------------------
  function setupDownloads() {
    const base = "/v1/analyses/" + encodeURIComponent(state.id);
    const links = [["dl-html", "/report.html", "retinalgpt-" + state.id + ".html"], ["dl-csv", "/report.csv", "retinalgpt-" + state.id + ".csv"], ["dl-json", "", "retinalgpt-" + state.id + ".json"]];
    for (const [id, suffix, name] of links) {
      const a = $(id);
      a.href = base + suffix;
      a.setAttribute("download", name);
      a.onclick = async (e) => {
        // With a token the browser cannot follow the link itself.
        if (!sessionStorage.getItem(TOKEN_KEY)) return;
        e.preventDefault();
        const res = await api(base + suffix);
        if (!res.ok) { setStatus("Download failed: " + (await errorText(res)), true); return; }
        const url = URL.createObjectURL(await res.blob());
        const tmp = el("a", { href: url, download: name });
        document.body.append(tmp); tmp.click(); tmp.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10000);
      };
    }
  }

  // ---- highlights -----------------------------------------------------------
  // The server sends, with each answer, the regions it talks about
  // (retinalgpt.highlights: kind, label, overlay layer, shape and boxes
  // normalized to the image); they are drawn in an SVG laid over the photo
  // with the same zoom and pan. Nothing is read from the answer's text.
  const SVG = "http://www.w3.org/2000/svg";
  function sizeMarks() {
    const img = $("photo"), svg = $("marks");
    if (!img.naturalWidth) return;
    svg.setAttribute("width", img.naturalWidth);
    svg.setAttribute("height", img.naturalHeight);
    svg.setAttribute("viewBox", "0 0 " + img.naturalWidth + " " + img.naturalHeight);
  }
  function svgEl(tag, attrs) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    return e;
  }
  function ellipsePath(b, W, H) {
    const rx = (b[2] - b[0]) * W / 2, ry = (b[3] - b[1]) * H / 2, cx = b[0] * W + rx, cy = b[1] * H + ry;
    return "M" + (cx - rx) + "," + cy + " a" + rx + "," + ry + " 0 1,0 " + 2 * rx + ",0 a" + rx + "," + ry + " 0 1,0 " + -2 * rx + ",0 Z";
  }
  function clearHighlights() {
    $("marks").textContent = "";
    $("clear-marks").hidden = true;
  }
  function drawHighlights(hs) {
    clearHighlights();
    const img = $("photo"), svg = $("marks");
    const W = img.naturalWidth, H = img.naturalHeight;
    if (!W || !hs || !hs.length) return [];
    const labels = [];
    let layersChanged = false;
    for (const h of hs) {
      labels.push(h.label);
      const c = document.querySelector("input[name=layer][value=" + h.layer + "]");
      if (c && !c.checked) { c.checked = true; layersChanged = true; }
      const g = svgEl("g", { class: "hl-group", "data-kind": h.kind, "data-code": h.code || "" });
      const cls = "hl hl-" + h.kind + " pulse";
      for (const b of h.boxes || []) {
        if (h.shape === "box") {
          g.append(svgEl("rect", { class: cls, x: b[0] * W, y: b[1] * H, width: (b[2] - b[0]) * W, height: (b[3] - b[1]) * H }));
        } else if (h.shape === "ellipse") {
          g.append(svgEl("path", { class: cls, d: ellipsePath(b, W, H) }));
        } else if (h.shape === "ring") {
          g.append(svgEl("path", { class: cls, d: ellipsePath(b, W, H) + (h.inner ? " " + ellipsePath(h.inner, W, H) : "") }));
        }
      }
      if (g.childNodes.length) svg.append(g);
    }
    if (svg.childNodes.length) $("clear-marks").hidden = false;
    $("stage").classList.remove("flash"); void $("stage").offsetWidth; $("stage").classList.add("flash");
    if (layersChanged) loadOverlay();
    return labels;
  }

  // ---- chat -----------------------------------------------------------------

  function addMessage(role, text) {
    const li = el("li", { class: role }, text);
    $("messages").append(li);
    li.scrollIntoView({ block: "end" });
    return li;
  }

  async function ask(question) {
    const first = state.messages.length === 0;
    const content = first
      ? [{ type: "text", text: question }, { type: "image_url", image_url: { url: state.dataURI } }]
      : question;
    state.messages.push({ role: "user", content });
    addMessage("user", question);
    const li = addMessage("assistant", "");
    li.setAttribute("aria-busy", "true");
    $("send").disabled = true;
    let text = "", grounding = null;
    try {
      const res = await api("/v1/chat/completions", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ model: "retinalgpt", stream: true, messages: state.messages }),
      });
      if (!res.ok) throw new Error(await errorText(res));
      const reader = res.body.getReader();
      const dec = new TextDecoder();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const ev = buf.slice(0, i); buf = buf.slice(i + 2);
          for (const line of ev.split("\n")) {
            if (!line.startsWith("data:")) continue;
            const data = line.slice(5).trim();
            if (data === "[DONE]") continue;
            const chunk = JSON.parse(data);
            const delta = chunk.choices && chunk.choices[0] && chunk.choices[0].delta;
            if (delta && delta.content) { text += delta.content; li.textContent = text; }
            if (chunk.retinalgpt) grounding = chunk.retinalgpt;
          }
        }
      }
      state.messages.push({ role: "assistant", content: text });
      const shown = drawHighlights(grounding && grounding.highlights);
      if (shown.length) li.append(el("span", { class: "cite" }, "Shown on the image: " + shown.join(", ")));
      if (grounding && grounding.note) li.append(el("span", { class: "cite" }, "Note: " + grounding.note));
      else if (grounding && grounding.ungrounded && grounding.ungrounded.length) li.append(el("span", { class: "cite warn" }, "Not found in the analysis, check before trusting: " + grounding.ungrounded.join(", ")));
    } catch (e) {
      state.messages.pop();
      li.classList.add("error");
      li.textContent = "No answer: " + e.message;
    } finally {
      li.removeAttribute("aria-busy");
      $("send").disabled = false;
    }
  }

  function setupChat() {
    const form = $("chat-form"), q = $("question");
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const text = q.value.trim();
      if (!text || !state.dataURI) return;
      q.value = "";
      ask(text);
    });
    q.addEventListener("keydown", (e) => { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); } });
  }

  // ---- start ------------------------------------------------------------------
  async function start() {
    setupUpload();
    setupViewer();
    setupChat();
    try {
      // A probe: 401 means the server wants a token (asked for once).
      await api("/v1/analyses/probe");
    } catch (e) { setStatus(e.message, true); }
  }
  document.addEventListener("DOMContentLoaded", start);
})();
