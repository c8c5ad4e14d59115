// Offers "show times in <the device's zone>" when it differs from the zone the page uses.
// A file, not an inline script, so the Content-Security-Policy can refuse inline scripts.
(function () {
  var hint = document.getElementById("local-tz-hint");
  if (!hint || !window.Intl) return;
  var tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (!tz || tz === hint.dataset.currentZone) return;
  var url = new URL(window.location.href);
  url.searchParams.set("tz", tz);
  var link = document.getElementById("local-tz-link");
  link.href = url.toString();
  link.textContent = "show times in " + tz;
  link.parentNode.firstChild.textContent = "Your device is set to " + tz + ": ";
  hint.hidden = false;
})();
