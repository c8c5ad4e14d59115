// The booking form's one-time token, kept across Back.
//
// When Back re-fetches the booking page (no back/forward cache), the browser restores the
// typed name and the checked slot but the page carries a fresh token, so "Book" would book a
// second meeting. The token this tab last submitted is kept in sessionStorage and put back on a
// back/forward load: the server then answers with the first booking ("You already booked").
(function () {
  "use strict";
  var form = document.querySelector("form[data-one-time-token]");
  if (!form) return;
  var field = form.querySelector("input[name=form_token]");
  var key = "workestra.booking-form-token:" + window.location.pathname;

  function navigationType() {
    var entries = window.performance && performance.getEntriesByType ? performance.getEntriesByType("navigation") : [];
    return entries.length ? entries[0].type : "";
  }

  try {
    var submitted = window.sessionStorage.getItem(key);
    if (submitted && navigationType() === "back_forward") field.value = submitted;
  } catch (error) { /* storage blocked: the page's own token still prevents resubmits */ }

  form.addEventListener("submit", function () {
    try { window.sessionStorage.setItem(key, field.value); } catch (error) { /* as above */ }
  });
})();
