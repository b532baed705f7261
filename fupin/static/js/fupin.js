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

  // A failed htmx request shows its reason instead of failing silently.
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var text = xhr && xhr.status === 403 ? (document.documentElement.lang === "en" ? "Not permitted." : "没有权限执行此操作。")
      : (document.documentElement.lang === "en" ? "The request failed (" + xhr.status + ")." : "请求失败(" + xhr.status + ")。");
    window.alert(text);
  });
})();
