// The time zone picker: no button needed, and the device's zone by default.
//
// - Changing the select reloads the page in that zone (the noscript button does it without JS).
//   The booking form's typed name and email ride along, so picking a zone loses nothing.
// - On a page opened without ?tz= (and where the viewer may pick), the page reloads once in the
//   zone the browser reports; the server maps old names (Asia/Calcutta) to listed ones and
//   ignores names it doesn't list, saying so.
(function () {
  "use strict";
  var picker = document.querySelector("form.tz-picker");
  if (!picker) return;
  var select = picker.querySelector("select[name=tz]");

  function carryTypedFields() {
    ["name", "email"].forEach(function (field) {
      var typed = document.querySelector("form[data-one-time-token] [name=" + field + "]");
      if (!typed || !typed.value) return;
      var hidden = picker.querySelector("input[type=hidden][name=" + field + "]");
      if (!hidden) {
        hidden = document.createElement("input");
        hidden.type = "hidden";
        hidden.name = field;
        picker.appendChild(hidden);
      }
      hidden.value = typed.value;
    });
  }

  select.addEventListener("change", function () {
    carryTypedFields();
    picker.submit();
  });

  var device = "";
  try { device = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (error) { return; }
  // A device zone the server refused once is not tried again in this tab: every page would
  // otherwise reload (and lose its messages) to be told the same.
  var refusedKey = "workestra.refused-device-zone";
  try {
    if (device && picker.getAttribute("data-refused-zone") === device) window.sessionStorage.setItem(refusedKey, device);
    var refused = window.sessionStorage.getItem(refusedKey) === device;
  } catch (error) { return; }
  if (picker.hasAttribute("data-device-default") && device && !refused && device !== picker.getAttribute("data-current-zone")) {
    var url = new URL(window.location.href);
    url.searchParams.set("tz", device);
    window.location.replace(url.toString());
  }
})();
