// Routing form editor: show only the fields of each route's chosen action, and add question or
// route rows without a round trip. Without this script every field shows and "Save" adds a row.
(function () {
  "use strict";

  function showFieldsOfAction(select) {
    var scope = select.closest("[data-action-scope]");
    if (!scope) return;
    scope.querySelectorAll("[data-show-for]").forEach(function (field) {
      var wanted = field.getAttribute("data-show-for").split(" ");
      field.hidden = wanted.indexOf(select.value) === -1;
    });
  }

  function wireActions(root) {
    root.querySelectorAll("select[data-action-select]").forEach(function (select) {
      showFieldsOfAction(select);
      select.addEventListener("change", function () { showFieldsOfAction(select); });
    });
  }

  function wireAddButton(button) {
    var prefix = button.getAttribute("data-formset-add");
    var template = document.getElementById(prefix + "-empty-row");
    var body = document.getElementById(prefix + "-rows");
    var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
    var max = document.getElementById("id_" + prefix + "-MAX_NUM_FORMS");
    if (!template || !body || !total) return;
    function full() { return max && parseInt(total.value, 10) >= parseInt(max.value, 10); }
    button.hidden = false;
    button.disabled = full();
    button.addEventListener("click", function () {
      if (full()) return;
      var index = parseInt(total.value, 10);
      var html = template.innerHTML.replace(/__prefix__/g, String(index));
      var holder = document.createElement("tbody");
      holder.innerHTML = html;
      var row = holder.firstElementChild;
      body.appendChild(row);
      total.value = String(index + 1);
      wireActions(row);
      var first = row.querySelector("input:not([type=hidden]):not([type=checkbox]), select, textarea");
      if (first) first.focus();
      button.disabled = full();
    });
  }

  document.documentElement.classList.add("js");
  document.addEventListener("DOMContentLoaded", function () {
    wireActions(document);
    document.querySelectorAll("button[data-formset-add]").forEach(wireAddButton);
  });
})();
