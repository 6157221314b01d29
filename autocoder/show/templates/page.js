// autocoder show: sorting, filtering and opening steps. It only moves, hides and opens elements
// the page already holds; it never builds markup from text, and the page loads nothing.
(function () {
  "use strict";
  function cellValue(row, index) {
    var cell = row.cells[index];
    return cell ? cell.getAttribute("data-v") || cell.textContent.trim() : "";
  }
  function compare(a, b) {
    var x = Number(a), y = Number(b);
    if (a !== "" && b !== "" && !isNaN(x) && !isNaN(y)) return x - y;
    return a.localeCompare(b, undefined, { numeric: true });
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    table.querySelectorAll("thead th").forEach(function (th, index) {
      th.tabIndex = 0;
      function sort() {
        var up = th.getAttribute("aria-sort") !== "ascending";
        table.querySelectorAll("thead th").forEach(function (o) { o.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", up ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (r, s) {
          var d = compare(cellValue(r, index), cellValue(s, index));
          return up ? d : -d;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") sort(); });
    });
  });
  function applyFilters(id) {
    var box = document.getElementById(id);
    if (!box) return;
    var query = "", tag = "";
    document.querySelectorAll('[data-filter-for="' + id + '"]').forEach(function (input) {
      if (input.tagName === "SELECT") tag = input.value;
      else query = input.value.trim().toLowerCase();
    });
    var items = box.querySelectorAll("[data-text]"), shown = 0;
    items.forEach(function (item) {
      var tags = (item.getAttribute("data-tags") || "").split(" ");
      var ok = item.getAttribute("data-text").indexOf(query) >= 0 && (!tag || tags.indexOf(tag) >= 0);
      item.hidden = !ok;
      if (ok) shown += 1;
    });
    document.querySelectorAll('[data-count-for="' + id + '"]').forEach(function (out) {
      out.textContent = shown + " of " + items.length + " shown";
    });
  }
  document.querySelectorAll("[data-filter-for]").forEach(function (input) {
    var id = input.getAttribute("data-filter-for");
    input.addEventListener("input", function () { applyFilters(id); });
    applyFilters(id);
  });
  function openAll(id, open) {
    var box = document.getElementById(id);
    if (box) box.querySelectorAll("details").forEach(function (d) { if (!d.hidden) d.open = open; });
  }
  document.querySelectorAll("[data-expand]").forEach(function (b) {
    b.addEventListener("click", function () { openAll(b.getAttribute("data-expand"), true); });
  });
  document.querySelectorAll("[data-collapse]").forEach(function (b) {
    b.addEventListener("click", function () { openAll(b.getAttribute("data-collapse"), false); });
  });
  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var target = id && document.getElementById(id);
    if (target && target.tagName === "DETAILS") {
      target.hidden = false;
      target.open = true;
      target.scrollIntoView();
    }
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();
  document.documentElement.setAttribute("data-ready", "1");
})();
