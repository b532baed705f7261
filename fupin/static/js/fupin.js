/* Fupin page helpers (no framework). Loaded on every page by web/base.html. */
(function () {
  "use strict";

  // The area chosen in the division tree (?division=<code>) follows the user from page to page: internal links
  // without their own choice get it added when clicked. Links marked data-keep-division="no" are left alone.
  var SKIP = /^\/(static|api|admin|i18n|files)\//;

  function currentDivision() {
    return document.body ? document.body.getAttribute("data-division") : "";
  }

  document.addEventListener("click", function (event) {
    var code = currentDivision();
    if (!code) return;
    var link = event.target.closest ? event.target.closest("a[href]") : null;
    if (!link || link.getAttribute("data-keep-division") === "no" || link.hasAttribute("download")) return;
    var url;
    try { url = new URL(link.getAttribute("href"), window.location.href); } catch (e) { return; }
    if (url.origin !== window.location.origin || SKIP.test(url.pathname) || url.searchParams.has("division")) return;
    url.searchParams.set("division", code);
    link.setAttribute("href", url.pathname + url.search + url.hash);
  }, true);

  // Small behaviours declared in the markup (the Content-Security-Policy allows no inline handlers):
  // data-print prints the page, data-back goes back, data-autosubmit submits its form on change,
  // data-select-all="<selector>" checks or unchecks every box it names, data-clear-field="<name>" empties that
  // field of the form on change.
  document.addEventListener("click", function (event) {
    var el = event.target.closest ? event.target.closest("[data-print],[data-back],[data-select-all]") : null;
    if (!el) return;
    if (el.hasAttribute("data-print")) { event.preventDefault(); window.print(); }
    else if (el.hasAttribute("data-back")) { event.preventDefault(); window.history.back(); }
    else if (el.hasAttribute("data-select-all")) {
      document.querySelectorAll(el.getAttribute("data-select-all")).forEach(function (c) { c.checked = el.checked; });
    }
  });
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (!el || !el.form) return;
    if (el.hasAttribute("data-clear-field") && el.form.elements[el.getAttribute("data-clear-field")]) {
      el.form.elements[el.getAttribute("data-clear-field")].value = "";
    }
    if (el.hasAttribute("data-autosubmit")) el.form.submit();
  });

  // A failed htmx request shows its reason instead of failing silently.
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var text = xhr && xhr.status === 403 ? (document.documentElement.lang === "en" ? "Not permitted." : "没有权限执行此操作。")
      : (document.documentElement.lang === "en" ? "The request failed (" + xhr.status + ")." : "请求失败(" + xhr.status + ")。");
    window.alert(text);
  });
})();
