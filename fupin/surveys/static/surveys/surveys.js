/* The filling page: add and remove table rows, GPS, and live conditions/validation from the server (no second
   implementation of the expression language in the browser: the page asks /fill/check/). */
(function () {
  function form() { return document.getElementById("fill-form"); }
  document.addEventListener("click", function (ev) {
    const add = ev.target.closest("[data-add-row]");
    if (add) {
      const box = add.closest(".sv-rows"), tpl = box.querySelector("template");
      const n = parseInt(box.dataset.next || "1", 10);
      box.dataset.next = n + 1;
      const html = tpl.innerHTML.split("__i__").join(String(n));
      add.insertAdjacentHTML("beforebegin", html);
      return;
    }
    const rm = ev.target.closest("[data-remove-row]");
    if (rm) { rm.closest(".sv-row").remove(); check(); return; }
    const gps = ev.target.closest("[data-gps]");
    if (gps && navigator.geolocation) {
      const input = gps.parentElement.querySelector("input");
      gps.disabled = true;
      navigator.geolocation.getCurrentPosition(function (p) {
        input.value = p.coords.longitude.toFixed(6) + "," + p.coords.latitude.toFixed(6);
        gps.disabled = false; check();
      }, function () { gps.disabled = false; alert("无法获取定位,请手工填写经纬度"); }, {enableHighAccuracy: true, timeout: 15000});
    }
  });
  let timer = null;
  function check() {
    const f = form(); if (!f || !f.dataset.check) return;
    clearTimeout(timer);
    timer = setTimeout(function () {
      const data = new FormData(f);
      for (const [k, v] of Array.from(data.entries())) if (v instanceof File) data.delete(k);
      fetch(f.dataset.check, {method: "POST", body: data, headers: {"X-CSRFToken": data.get("csrfmiddlewaretoken")}})
        .then(r => r.ok ? r.json() : null).then(function (res) {
          if (!res) return;
          f.querySelectorAll(".sv-item[data-key]").forEach(function (el) { el.hidden = res.hidden.indexOf(el.dataset.key) >= 0; });
          f.querySelectorAll("[data-error]").forEach(function (el) {
            const msg = res.errors[el.dataset.error] || "";
            el.textContent = msg;
            const box = el.closest(".sv-cell") || el.closest(".sv-item");
            if (box) box.classList.toggle("sv-bad", !!msg);
          });
        });
    }, 250);
  }
  document.addEventListener("change", function (ev) { if (ev.target.closest("#fill-form")) check(); });
})();
