/* Alpine components shared by pages, registered before Alpine starts (web/base.html loads this file first).
   Alpine runs in its CSP build: markup keeps to property names, simple expressions and method calls; anything
   longer is a method here. */
document.addEventListener("alpine:init", function () {
  "use strict";
  // Fills the hidden lng/lat/acc inputs (x-ref) of a form with the phone's position, once, when the form opens.
  window.Alpine.data("locate", function () {
    return {
      located: false, failed: false,
      init: function () {
        var self = this;
        if (!navigator.geolocation) { self.failed = true; return; }
        navigator.geolocation.getCurrentPosition(function (p) {
          self.$refs.lng.value = p.coords.longitude.toFixed(6);
          self.$refs.lat.value = p.coords.latitude.toFixed(6);
          self.$refs.acc.value = Math.round(p.coords.accuracy);
          self.located = true;
        }, function () { self.failed = true; }, {timeout: 8000});
      }
    };
  });
});
