// bonepath worklist keys (issue 15: keyboard-first): "/" focuses the filters, j/k move
// between rows, Enter (or o) opens the patient of the current row, Escape leaves a field.
// No library; the page works without it.
document.addEventListener("DOMContentLoaded", function () {
  var rows = Array.prototype.slice.call(document.querySelectorAll("table.worklist tbody tr"));
  var current = -1;
  function select(index) {
    if (!rows.length) { return; }
    index = Math.max(0, Math.min(rows.length - 1, index));
    if (current >= 0 && rows[current]) {
      rows[current].classList.remove("current");
      rows[current].removeAttribute("aria-selected");
    }
    current = index;
    rows[current].classList.add("current");
    rows[current].setAttribute("aria-selected", "true");
    rows[current].scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    var target = event.target;
    var typing = target && (target.tagName === "INPUT" || target.tagName === "SELECT" ||
      target.tagName === "TEXTAREA");
    if (typing) {
      if (event.key === "Escape") { target.blur(); }
      return;
    }
    if (event.key === "/") {
      var field = document.querySelector("form.filters input[name=rule]");
      if (field) { event.preventDefault(); field.focus(); field.select(); }
    } else if (event.key === "j" || event.key === "ArrowDown") {
      if (rows.length) { event.preventDefault(); select(current + 1); }
    } else if (event.key === "k" || event.key === "ArrowUp") {
      if (rows.length) { event.preventDefault(); select(current - 1); }
    } else if ((event.key === "Enter" || event.key === "o") && current >= 0) {
      var link = rows[current].querySelector("a.patient");
      if (link) { event.preventDefault(); window.location.href = link.href; }
    } else if (event.key === "e") {
      var excel = document.getElementById("export-xlsx");
      if (excel) { window.location.href = excel.href; }
    }
  });
});
