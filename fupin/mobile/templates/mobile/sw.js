/* The field app's service worker: the shell and its assets are cached at install, so the app opens with no network.
   API calls always go to the network (the app keeps its own data in IndexedDB). */
"use strict";
const VERSION = "{{ version }}";
const CACHE = "fupin-app-" + VERSION;
const PRECACHE = {{ precache|safe }};

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(PRECACHE)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys().then((keys) => Promise.all(
    keys.filter((k) => k.startsWith("fupin-app-") && k !== CACHE).map((k) => caches.delete(k))
  )).then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin || url.pathname.startsWith("/api/")) return;
  if (req.mode === "navigate" && url.pathname.startsWith("/app/")) {
    // the shell: the network when it answers (a new release), else the cached copy
    event.respondWith(fetch(req).then((resp) => {
      if (resp.ok && url.pathname === "/app/") {
        const copy = resp.clone();
        caches.open(CACHE).then((c) => c.put("/app/", copy));
      }
      return resp;
    }).catch(() => caches.match("/app/")));
    return;
  }
  if (PRECACHE.includes(url.pathname)) {
    event.respondWith(caches.match(url.pathname).then((hit) => hit || fetch(req)));
  }
});
