// The review page: decide uncertain pairs by keyboard (Y same person, N not, S skip, J next, K previous).
(function () {
  "use strict";
  var pair = document.getElementById("review-pair");
  if (!pair) { return; }
  var form = document.getElementById("decide-form");
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    var target = event.target;
    if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.isContentEditable)) {
      if (event.key === "Escape") { target.blur(); }
      return;
    }
    var key = (event.key || "").toLowerCase();
    if (key === "j" && pair.dataset.next) { window.location.href = pair.dataset.next; event.preventDefault(); return; }
    if (key === "k" && pair.dataset.prev) { window.location.href = pair.dataset.prev; event.preventDefault(); return; }
    if (!form) { return; }
    var control = form.querySelector('[data-key="' + key + '"]');
    if (!control) { return; }
    event.preventDefault();
    if (control.tagName === "A") { window.location.href = control.href; return; }
    if (form.dataset.sent) { return; }
    form.dataset.sent = "1";
    if (form.requestSubmit) { form.requestSubmit(control); } else { control.click(); }
  });
})();
