// bonepath CT viewer (no library): server-rendered PNGs, scrolled and windowed here.
// Texts come from the page (data-msg-*), so the viewer speaks the page's language.
(function () {
  "use strict";

  function byId(id) { return document.getElementById(id); }
  // form.elements.item is a method of the collection, so fields are found by name
  function field(form, name) { return form.querySelector("input[name='" + name + "']"); }

  document.addEventListener("DOMContentLoaded", function () {
    var viewer = byId("ct-viewer");
    if (!viewer) { return; }
    var img = byId("ct-image");
    var range = byId("ct-index");
    var status = byId("ct-status");
    var evidence = byId("ct-evidence");
    var review = byId("ct-review");
    var reviewButton = byId("ct-review-button");
    var capture = byId("ct-capture");
    var linkForm = byId("ct-link");
    var attach = byId("ct-attach");
    var aid = byId("ct-aid");
    var aidButton = byId("ct-aid-button");
    var windows = Array.prototype.slice.call(viewer.querySelectorAll(".ct-window"));
    var views = Array.prototype.slice.call(viewer.querySelectorAll(".ct-view"));
    var msg = viewer.dataset;
    var state = null;
    // the viewer opens in a soft-tissue window: the bone window is a deliberate switch, and
    // "骨窗已阅" becomes possible only once it is on screen
    var first = windows.filter(function (b) { return b.dataset.bone !== "yes"; })[0] || windows[0];

    function imageUrl(base, view, index, windowName) {
      var q = new URLSearchParams(state.query);
      q.set("view", view);
      q.set("index", String(index));
      q.set("window", windowName);
      return base + "?" + q.toString();
    }

    function count() { return state.view === "axial" ? state.slices : state.columns; }

    function windowButton() {
      return windows.filter(function (b) { return b.dataset.window === state.window; })[0];
    }

    function show() {
      var total = count();
      var index = state.view === "axial" ? state.axial : state.column;
      range.max = String(total - 1);
      range.value = String(index);
      if (reviewButton) { reviewButton.disabled = true; }
      img.dataset.window = state.window;
      img.dataset.view = state.view;
      img.dataset.index = String(index);
      img.dataset.loaded = "no";
      img.src = imageUrl(state.image, state.view, index, state.window);
      var button = windowButton();
      windows.forEach(function (b) { b.setAttribute("aria-pressed", b === button ? "true" : "false"); });
      views.forEach(function (b) { b.setAttribute("aria-pressed", b.dataset.view === state.view ? "true" : "false"); });
      var where = (state.view === "axial" ? msg.msgSlice : msg.msgColumn)
        .replace("{n}", String(index + 1)).replace("{total}", String(total));
      status.textContent = button.textContent + " " + button.dataset.values + " · " + where;
      if (capture) {
        capture.href = imageUrl(state.capture, state.view, index, state.window);
        capture.hidden = false;
      }
      if (attach) {
        ["study", "series"].forEach(function (name) { field(attach, name).value = state.query[name]; });
        field(attach, "view").value = state.view;
        field(attach, "index").value = String(index);
        field(attach, "window").value = state.window;
        attach.hidden = false;
      }
      // the neighbours, so that scrolling finds them ready
      [index - 1, index + 1, index + 2].forEach(function (i) {
        if (i >= 0 && i < total) { new Image().src = imageUrl(state.image, state.view, i, state.window); }
      });
    }

    img.addEventListener("load", function () {
      img.dataset.loaded = "yes";
      var button = windowButton();
      if (review && state && button && button.dataset.bone === "yes") {
        field(review, "window").value = state.window;
        reviewButton.disabled = false;
      }
    });

    img.addEventListener("error", function () {
      if (img.getAttribute("src")) { status.textContent = msg.msgFailed; }
    });

    function step(delta) {
      if (!state) { return; }
      var total = count();
      if (state.view === "axial") {
        state.axial = Math.max(0, Math.min(total - 1, state.axial + delta));
      } else {
        state.column = Math.max(0, Math.min(total - 1, state.column + delta));
      }
      show();
    }

    function describe(data) {
      var b = data.bone_window || {};
      var text = data.bone_reconstruction_in_study || b.reconstruction ? msg.msgBoneReconstruction
        : (b.preset ? msg.msgBonePreset : msg.msgNoBone);
      var kernel = data.kernels && data.kernels.length ? " · " + data.kernels[0] : "";
      evidence.textContent = (data.description || "CT") + kernel + " · " + text;
    }

    function open(item) {
      viewer.hidden = false;
      state = null;
      img.removeAttribute("src");
      evidence.textContent = "";
      if (capture) { capture.hidden = true; }
      if (attach) { attach.hidden = true; }
      if (linkForm) { linkForm.hidden = true; }
      if (aidButton) { aidButton.disabled = true; byId("ct-aid-result").hidden = true; }
      if (reviewButton) { reviewButton.disabled = true; }
      status.textContent = msg.msgLoading;
      var q = new URLSearchParams({ source: msg.source, patient: msg.patient, item: item });
      fetch("/imaging/study?" + q.toString(), { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          return response.json().then(function (data) { return { ok: response.ok, data: data }; });
        })
        .then(function (answer) {
          var data = answer.data;
          if (!answer.ok) {
            status.textContent = data.message || msg.msgFailed;
            if (linkForm && (data.error === "NO_STUDY" || data.error === "SEVERAL_STUDIES")) {
              field(linkForm, "item").value = item;
              var list = byId("ct-candidates");
              list.textContent = "";
              (data.candidates || []).forEach(function (c) {
                var option = document.createElement("option");
                option.value = c.study_uid;
                option.label = (c.study_date || "") + " " + (c.description || "");
                list.appendChild(option);
              });
              linkForm.hidden = false;
            }
            return;
          }
          state = {
            item: item, query: data.query, image: data.image, capture: data.capture,
            slices: data.slices, columns: data.columns,
            axial: Math.floor(data.slices / 2), column: data.spine_column,
            view: "axial", window: first.dataset.window
          };
          if (review) { field(review, "item").value = item; }
          describe(data);
          show();
          if (aidButton) { aidButton.disabled = false; }
        })
        .catch(function () { status.textContent = msg.msgFailed; });
    }

    // the candidate-lesion aid: run on the server, polled here, candidates jump to their slice
    function jump(slice, id) {
      if (!state) { return; }
      state.view = "axial";
      state.axial = Math.max(0, Math.min(state.slices - 1, slice));
      Array.prototype.forEach.call(document.querySelectorAll("tr.ct-aid-row"), function (r) {
        if (r.dataset.id === id) { r.setAttribute("aria-current", "true"); } else { r.removeAttribute("aria-current"); }
      });
      show();
    }

    function cell(row, text) {
      var td = document.createElement("td");
      td.textContent = text;
      row.appendChild(td);
      return td;
    }

    function showAid(data, study) {
      var result = byId("ct-aid-result");
      result.hidden = false;
      byId("ct-aid-status").textContent = data.status || msg.msgFailed;
      byId("ct-aid-never").textContent = data.never || "";
      byId("ct-aid-accuracy").textContent = data.accuracy || "";
      result.dataset.state = data.state;
      if (data.state === "running") {
        setTimeout(function () { pollAid(study); }, 1000);
        return;
      }
      aidButton.disabled = false;
      var table = byId("ct-aid-candidates");
      var body = table.querySelector("tbody");
      body.textContent = "";
      (data.candidates || []).forEach(function (c) {
        var row = document.createElement("tr");
        row.className = "ct-aid-row";
        row.tabIndex = 0;
        row.dataset.slice = String(c.slice);
        row.dataset.kind = c.kind;
        row.dataset.id = c.id;
        cell(row, c.id);
        cell(row, c.kind_label);
        cell(row, c.where);
        cell(row, String(c.slice + 1));
        cell(row, String(c.volume_mm3));
        cell(row, c.mean_hu === null ? "—" : String(c.mean_hu));
        var image = document.createElement("img");
        image.src = c.key_image;
        image.alt = c.id;
        cell(row, "").appendChild(image);
        row.addEventListener("click", function () { jump(c.slice, c.id); });
        row.addEventListener("keydown", function (event) {
          if (event.key === "Enter") { jump(c.slice, c.id); }
        });
        body.appendChild(row);
      });
      table.hidden = !(data.candidates && data.candidates.length);
    }

    function pollAid(study) {
      if (!state || state.query.study !== study) { return; }
      var q = new URLSearchParams({
        source: state.query.source, patient: state.query.patient,
        study: state.query.study, series: state.query.series
      });
      fetch("/imaging/aid?" + q.toString(), { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.json(); })
        .then(function (data) { showAid(data, study); })
        .catch(function () { byId("ct-aid-status").textContent = msg.msgFailed; aidButton.disabled = false; });
    }

    if (aidButton) {
      aidButton.addEventListener("click", function () {
        if (!state) { return; }
        aidButton.disabled = true;
        var study = state.query.study;
        var body = new URLSearchParams({
          source: state.query.source, patient: state.query.patient,
          study: study, series: state.query.series
        });
        fetch("/imaging/aid", {
          method: "POST", credentials: "same-origin", body: body,
          headers: { Accept: "application/json", "X-CSRF-Token": aid.dataset.csrf }
        })
          .then(function (response) { return response.json(); })
          .then(function (data) { showAid(data, study); })
          .catch(function () { byId("ct-aid-status").textContent = msg.msgFailed; aidButton.disabled = false; });
      });
    }

    Array.prototype.forEach.call(document.querySelectorAll(".open-ct"), function (button) {
      button.addEventListener("click", function () { open(button.dataset.item); });
    });
    windows.forEach(function (button) {
      button.addEventListener("click", function () {
        if (!state) { return; }
        state.window = button.dataset.window;
        show();
      });
    });
    views.forEach(function (button) {
      button.addEventListener("click", function () {
        if (!state) { return; }
        state.view = button.dataset.view;
        show();
      });
    });
    range.addEventListener("input", function () {
      if (!state) { return; }
      var value = parseInt(range.value, 10);
      if (state.view === "axial") { state.axial = value; } else { state.column = value; }
      show();
    });
    img.addEventListener("wheel", function (event) {
      if (!state) { return; }
      event.preventDefault();
      step(event.deltaY > 0 ? 1 : -1);
    }, { passive: false });
    viewer.addEventListener("keydown", function (event) {
      var keys = { ArrowUp: -1, ArrowDown: 1, PageUp: -5, PageDown: 5, ArrowLeft: -1, ArrowRight: 1 };
      if (event.target === range || !(event.key in keys)) { return; }
      event.preventDefault();
      step(keys[event.key]);
    });
  });
})();
