// galleon portal: the project's own small script. Pages work without it (forms post to the
// server, which validates); with it, forms get tabs, a review step and inline checks before
// submit, region and data-disk rows, cascading source pickers, live replication progress and
// the browser upload.
"use strict";
(() => {
  document.documentElement.classList.add("js");
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
  const csrf = () => ($('meta[name="csrf-token"]') || {}).content || "";

  // Inline error of a field: the .error element in its .field (or next to it).
  function errorBox(el) {
    const field = el.closest(".field, fieldset, td");
    return field ? $(".error", field.closest(".field") || field) : null;
  }
  function showValidity(el) {
    const box = errorBox(el);
    const field = el.closest(".field");
    if (el.checkValidity()) {
      if (box && box.dataset.client) { box.textContent = ""; delete box.dataset.client; }
      if (field && !box?.textContent) field.classList.remove("invalid");
      el.removeAttribute("aria-invalid");
      return true;
    }
    let msg = el.validationMessage;
    if (el.validity.patternMismatch) msg = "The value does not have the required format (see the hint above).";
    if (box) { box.textContent = msg; box.dataset.client = "1"; }
    if (field) field.classList.add("invalid");
    el.setAttribute("aria-invalid", "true");
    return false;
  }
  // Errors show when a field is left, and clear while it is corrected (clearing on blur would
  // move the page under the pointer of a click that is on its way to a button).
  $$("input, select").forEach((el) => {
    el.addEventListener("blur", () => { if (el.value !== "" && !el.checkValidity()) showValidity(el); });
    el.addEventListener("input", () => { if (el.checkValidity()) showValidity(el); });
  });
  $$("input[data-must-equal]").forEach((el) => el.addEventListener("input", () => {
    el.setCustomValidity(el.value === el.dataset.mustEqual ? "" : "Type the name exactly.");
  }));

  // Tabs and the review step of wizard forms.
  $$("form.wizard").forEach((form) => {
    const tabs = $$("[data-tab]", form);
    const panels = $$("[data-panel]", form);
    const step = (name) => $(`[data-step="${name}"]`, form);
    function show(name) {
      tabs.forEach((t) => t.setAttribute("aria-selected", String(t.dataset.tab === name)));
      panels.forEach((p) => { p.hidden = p.dataset.panel !== name; });
      const review = name === "review";
      step("review").hidden = review;
      step("create").hidden = !review;
      step("back").hidden = !review;
    }
    function validate() {
      const bad = $$("input, select", form).filter((el) => !el.disabled && !el.closest("template") && !showValidity(el));
      if (bad.length) {
        const panel = bad[0].closest("[data-panel]");
        if (panel) show(panel.dataset.panel);
        bad[0].focus();
        return false;
      }
      return true;
    }
    function summary() {
      const dl = $("[data-summary]", form);
      dl.textContent = "";
      const add = (k, v) => {
        const row = document.createElement("div");
        const dt = document.createElement("dt"); dt.textContent = k;
        const dd = document.createElement("dd"); dd.textContent = v || "—";
        row.append(dt, dd); dl.append(row);
      };
      $$(".field", form).forEach((f) => {
        // Every tab's fields (their panels are hidden while another tab shows), but not a
        // group the form itself hides (a source type not chosen).
        const hidden = f.closest("[hidden]");
        if ((hidden && !hidden.matches("[data-panel]")) || f.closest("template")) return;
        const label = $("label, legend", f);
        const el = $("input:checked, input:not([type=radio]), select", f);
        if (!label || !el || el.type === "hidden") return;
        const v = el.tagName === "SELECT" ? (el.selectedOptions[0] || {}).textContent : el.type === "radio" ? el.parentElement.textContent.trim() : el.value;
        add(label.textContent.replace(/\s*\*$/, ""), v);
      });
      const regions = $$("#target-regions tbody tr", form).map((tr) => {
        const [name, count, storage] = $$("input, select", tr);
        return name.value ? `${name.value} (${count.value || "default"} × ${storage.value || "default"})` : "";
      }).filter(Boolean);
      if (regions.length) add("Target regions", regions.join(", "));
    }
    tabs.forEach((t) => t.addEventListener("click", () => {
      if (t.dataset.tab === "review") { if (validate()) { summary(); show("review"); } } else show(t.dataset.tab);
    }));
    step("back").addEventListener("click", () => show(tabs[0].dataset.tab));
    form.addEventListener("submit", (ev) => {
      if (ev.submitter && ev.submitter.dataset.step === "review") {
        ev.preventDefault();
        if (validate()) { summary(); show("review"); step("create").focus(); }
      }
    });
    form.noValidate = true;
    show(tabs[0].dataset.tab);
    // A server-side error on a field: open the tab it is on.
    const invalid = $(".field.invalid", form);
    if (invalid && invalid.closest("[data-panel]")) show(invalid.closest("[data-panel]").dataset.panel);
  });

  // Source type: show the chosen group.
  const sourceType = $("#sourceType");
  if (sourceType) {
    const sync = () => $$(".source-group").forEach((g) => { g.hidden = g.dataset.source !== sourceType.value; });
    sourceType.addEventListener("change", sync);
    sync();
  }
  // The source region row follows the Region field.
  const location = $("#location");
  const sourceRow = $("[data-source-region]");
  if (location && sourceRow) location.addEventListener("change", () => { sourceRow.value = location.value; });

  // Rows: add from the table's template, remove.
  document.addEventListener("click", (ev) => {
    const add = ev.target.closest("[data-add-row]");
    if (add) {
      const name = add.dataset.addRow;
      const row = document.getElementById(`${name}-row`).content.firstElementChild.cloneNode(true);
      $(`#${name} tbody`).append(row);
      $("select, input", row).focus();
    }
    const remove = ev.target.closest("[data-remove-row]");
    if (remove) remove.closest("tr").remove();
  });

  // Cascading pickers: gallery and definition filter the versions list.
  $$("select[data-filters]").forEach((sel) => sel.addEventListener("change", () => {
    const target = document.getElementById(sel.dataset.filters);
    const filters = $$(`select[data-filters="${sel.dataset.filters}"]`);
    Array.from(target.options).forEach((o) => {
      if (!o.value) return;
      o.hidden = filters.some((f) => f.value && o.dataset[f.dataset.key] !== f.value);
    });
    if (target.selectedOptions[0]?.hidden) target.value = "";
  }));

  // Live replication progress.
  const rep = $("#replication[data-status-url]");
  if (rep) {
    const badge = (state) => {
      const s = document.createElement("span");
      s.className = "badge " + ({ Succeeded: "ok", Completed: "ok", Failed: "bad", "": "none" }[state] ?? "busy");
      s.dataset.state = state; s.textContent = state; return s;
    };
    const poll = async () => {
      try {
        const r = await fetch(rep.dataset.statusUrl, { headers: { accept: "application/json" } });
        if (!r.ok) return setTimeout(poll, 3000);
        const s = await r.json();
        $("#aggregated", rep).replaceChildren(badge(s.aggregatedState || ""));
        // Digest and size appear once the content is built.
        for (const [sel, v] of [["#version-digest", s.digest], ["#version-size", s.size]]) {
          const el = $(sel);
          if (el && v) el.textContent = v;
        }
        $("#provisioning", rep).replaceChildren(badge(s.provisioningState || ""));
        for (const region of s.regions) {
          const li = $$("li[data-region]", rep).find((l) => l.dataset.region === region.region);
          if (!li) continue;
          $("progress", li).value = region.progress;
          $(".pct", li).textContent = `${region.progress}%`;
          $(".region-state", li).replaceChildren(badge(region.state || ""));
          $(".details", li).textContent = region.details || "";
          $(".transfer", li).textContent = region.transfer || "";
        }
        const done = ["Succeeded", "Failed"].includes(s.provisioningState) && s.aggregatedState !== "InProgress";
        if (!done) setTimeout(poll, 1000);
      } catch { setTimeout(poll, 3000); }
    };
    poll();
  }

  // Browser upload into a new managed disk.
  const up = $("form[data-upload]");
  if (up) {
    const PAGE = 4 * 1024 * 1024;
    const bar = $("#upload-bar"), text = $("#upload-text"), err = $("#upload-error");
    const fail = (msg) => { err.textContent = msg; err.hidden = false; $("button[type=submit]", up).disabled = false; };
    const call = async (path, body) => {
      const r = await fetch(path, { method: "POST", headers: { "content-type": "application/json", "x-csrf-token": csrf() }, body: JSON.stringify(body) });
      const j = await r.json().catch(() => ({}));
      if (!r.ok) throw new Error(j.error ? `${j.error.code}: ${j.error.message}` : `HTTP ${r.status}`);
      return j;
    };
    up.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      err.hidden = true;
      const fields = $$("input, select", up);
      if (!fields.every(showValidity)) return;
      const file = $("#vhd-file").files[0];
      $("button[type=submit]", up).disabled = true;
      $(".upload-progress", up).hidden = false;
      try {
        const started = await call("/portal/upload/start", {
          group: $("#group").value, name: $("#disk-name").value, location: $("#location").value,
          osType: $("#osType").value, size: file.size,
        });
        // Four page writes in flight; all-zero pages are skipped (the disk starts as zeros).
        const t0 = performance.now();
        const offsets = [];
        for (let off = 0; off < file.size; off += PAGE) offsets.push(off);
        let next = 0, sent = 0;
        const worker = async () => {
          while (next < offsets.length) {
            const off = offsets[next++];
            const end = Math.min(off + PAGE, file.size);
            const buf = await file.slice(off, end).arrayBuffer();
            if (new Uint8Array(buf).some((b) => b !== 0)) {
              const r = await fetch(`${started.url}&comp=page`, {
                method: "PUT", body: buf,
                headers: { "x-ms-page-write": "update", "x-ms-range": `bytes=${off}-${end - 1}`, "x-ms-version": "2021-08-06", "x-ms-blob-type": "PageBlob" },
              });
              if (!r.ok) throw new Error(`page write at ${off}: HTTP ${r.status} ${await r.text()}`);
            }
            sent += end - off;
            bar.value = Math.round((sent / file.size) * 100);
            const mib = sent / 1048576, secs = (performance.now() - t0) / 1000;
            text.textContent = `${mib.toFixed(0)} of ${(file.size / 1048576).toFixed(0)} MiB · ${(mib / Math.max(secs, 0.001)).toFixed(1)} MiB/s`;
          }
        };
        await Promise.all([worker(), worker(), worker(), worker()]);
        text.textContent = "Finishing: sealing the disk…";
        await call("/portal/upload/finish", { id: started.id });
        text.textContent = "Uploaded.";
        window.location.href = "/portal/r" + started.id;
      } catch (e) { fail(String(e.message || e)); }
    });
  }
})();
