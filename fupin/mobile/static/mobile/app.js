/* 扶贫网格通: the grid worker's offline app.
 *
 * Everything the worker does is written to IndexedDB at once (the outbox, with a client uuid and the version it
 * was made on) and sent when the network allows: on reconnect, on demand, and every minute. The server applies
 * each change exactly once by its uuid. The worker's slice (households, inbox, work orders, 民情, forms) is kept in
 * IndexedDB and refreshed by a change feed (a cursor; only what changed; tombstones for what left).
 * No framework and no inline script (CSP): the DOM is built with textContent only.
 */
(function () {
  "use strict";

  const API = "/api/v1";
  const CHUNK = 128 * 1024; // about 1.4 s at 750 kbit/s: a lost connection costs little
  const PHOTO_MAX = 800; // longest side in pixels after resizing on the phone (a visit's evidence, not a print)
  const PHOTO_QUALITY = 0.6;
  const PHOTO_KEEP = 80 * 1024; // a JPEG already this small and within PHOTO_MAX is kept as it is
  const PARALLEL_UPLOADS = 4; // photos in flight at once: the round trips overlap on a slow link
  const STATE_TEXT = {saved: "已存手机", sending: "发送中", sent: "已发送", conflict: "有冲突", refused: "被拒绝"};
  const KIND_TEXT = {visit: "走访", errand: "代办", minqing: "民情", finding: "核实比对", measure_done: "措施完成",
    household: "修改信息", change_request: "变动申请"};
  const COLOUR_TEXT = {green: "绿灯", yellow: "黄灯", red: "红灯"};
  const CATEGORIES = [["living", "生活困难"], ["policy", "政策咨询"], ["medical", "看病就医"], ["education", "上学教育"],
    ["housing", "住房"], ["employment", "就业培训"], ["infrastructure", "基础设施"], ["other", "其他"]];
  // the household form (its definition also comes with the forms, as "registry.household", with the code lists)
  const FIELD_TEXT = {phone: "联系电话", address: "住址", group_name: "村民小组", housing_structure: "住房结构",
    housing_area: "住房面积(平方米)", dilapidated_grade: "危房等级", water_source: "饮水来源", drinking_safe: "饮水安全",
    drinking_difficulty: "饮水困难", sanitary_toilet: "卫生厕所", production_power: "生产用电",
    road_distance_km: "距村主干路(公里)", in_cooperative: "加入合作社"};
  const CR_KINDS = [["birth", "出生"], ["death", "死亡"], ["move_in", "迁入"], ["move_out", "迁出"]];
  function shown(v) { return v === true ? "是" : v === false ? "否" : (v === null || v === undefined || v === "") ? "—" : String(v); }
  const SEX_TEXT = {"1": "男", "2": "女"};

  // IndexedDB --------------------------------------------------------------------------------------------------
  const STORES = {meta: "key", households: "uuid", inbox: "uuid", orders: "uuid", reports: "uuid", forms: "key",
    outbox: "uuid", photos: "uuid"};
  const COLLECTIONS = ["households", "inbox", "orders", "reports", "forms"];
  let dbPromise = null;

  function openDb() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        const req = indexedDB.open("fupin-app", 1);
        req.onupgradeneeded = function () {
          const d = req.result;
          Object.keys(STORES).forEach(function (name) {
            if (!d.objectStoreNames.contains(name)) d.createObjectStore(name, {keyPath: STORES[name]});
          });
        };
        req.onsuccess = function () { resolve(req.result); };
        req.onerror = function () { reject(req.error); };
      });
    }
    return dbPromise;
  }

  /* Run fn(stores) in one transaction over the named stores; resolves when the transaction is durable. */
  function tx(names, mode, fn) {
    return openDb().then(function (d) {
      return new Promise(function (resolve, reject) {
        const t = d.transaction(names, mode);
        const stores = {};
        [].concat(names).forEach(function (n) { stores[n] = t.objectStore(n); });
        let out;
        const req = fn(stores);
        if (req) req.onsuccess = function () { out = req.result; };
        t.oncomplete = function () { resolve(out); };
        t.onerror = function () { reject(t.error); };
        t.onabort = function () { reject(t.error || new Error("aborted")); };
      });
    });
  }
  const db = {
    get: function (store, key) { return tx(store, "readonly", function (s) { return s[store].get(key); }); },
    all: function (store) { return tx(store, "readonly", function (s) { return s[store].getAll(); }); },
    put: function (store, value) { return tx(store, "readwrite", function (s) { s[store].put(value); }); },
    del: function (store, key) { return tx(store, "readwrite", function (s) { s[store].delete(key); }); },
  };
  function meta(key) { return db.get("meta", key).then(function (r) { return r ? r.value : undefined; }); }
  function setMeta(key, value) { return db.put("meta", {key: key, value: value}); }

  function uuid4() {
    if (self.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    const x = Array.from(b, function (v) { return v.toString(16).padStart(2, "0"); }).join("");
    return x.slice(0, 8) + "-" + x.slice(8, 12) + "-" + x.slice(12, 16) + "-" + x.slice(16, 20) + "-" + x.slice(20);
  }
  function today() {
    const d = new Date();
    return d.getFullYear() + "-" + String(d.getMonth() + 1).padStart(2, "0") + "-" + String(d.getDate()).padStart(2, "0");
  }

  // DOM helpers --------------------------------------------------------------------------------------------------
  function h(tag, attrs) {
    const el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      const v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), v);
      else if (k === "text") el.textContent = v;
      else el.setAttribute(k, v === true ? "" : v);
    });
    for (let i = 2; i < arguments.length; i++) {
      [].concat(arguments[i]).forEach(function (c) {
        if (c === null || c === undefined || c === false) return;
        el.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
      });
    }
    return el;
  }
  function field(label, input, hint) {
    return h("label", {class: "field"}, h("span", {class: "label", text: label}), input,
      hint ? h("span", {class: "hint", text: hint}) : null);
  }
  function badge(state) { return h("span", {class: "badge state-" + state, text: STATE_TEXT[state] || state}); }
  function go(hash) { location.hash = hash; }
  /* Timing marks read by bench/mobile_slow3g.py (the last of each name counts). */
  function mark(name) { if (self.performance && performance.mark) performance.mark("fupin:" + name); }

  // Server calls -----------------------------------------------------------------------------------------------
  function ApiError(status, detail) { this.status = status; this.detail = detail; }

  function call(method, path, body, contentType) {
    return meta("token").then(function (token) {
      const headers = {Authorization: "Bearer " + token};
      if (body !== undefined) headers["Content-Type"] = contentType || "application/json";
      return fetch(API + path, {method: method, headers: headers, body: body, credentials: "omit"});
    }).then(function (resp) {
      return resp.text().then(function (text) {
        let data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        if (resp.status === 401) throw new ApiError(401, "本设备已被吊销或登录已过期,请重新登录");
        if (!resp.ok && resp.status !== 409) throw new ApiError(resp.status, (data && data.detail) || ("服务器错误 " + resp.status));
        return data;
      });
    });
  }

  // App state ----------------------------------------------------------------------------------------------------
  const state = {user: null, online: navigator.onLine, syncing: false, status: "", unsent: 0, conflicts: [],
    refusedAuth: false};

  function refreshCounter() {
    return db.all("outbox").then(function (items) {
      state.unsent = items.filter(function (c) { return c.state === "saved" || c.state === "sending"; }).length;
      renderBar();
    });
  }

  /* Save a change on the phone at once (and its photos in the same transaction), then try to send it. */
  function saveChange(kind, data, opts) {
    opts = opts || {};
    return Promise.all((opts.photos || []).map(shrinkPhoto)).then(function (photos) {
      opts.photos = photos;
      // the original size of each photo is kept with the change (the server stores the change as sent)
      if (photos.length) data.photo_sizes = photos.map(function (p) { return p.original || null; });
      return meta("seq");
    }).then(function (seq) {
      seq = (seq || 0) + 1;
      const change = {uuid: uuid4(), seq: seq, kind: kind, data: data, base_version: opts.base_version || null,
        made_at: new Date().toISOString(), household: data.household || null, state: "saved", message: "",
        summary: opts.summary || ""};
      return tx(["outbox", "photos", "meta"], "readwrite", function (s) {
        s.meta.put({key: "seq", value: seq});
        (opts.photos || []).forEach(function (p) { s.photos.put(p); });
        s.outbox.put(change);
      }).then(function () { return change; });
    }).then(function (change) {
      refreshCounter();
      if (navigator.onLine) sync();
      return change;
    });
  }

  // Sync -----------------------------------------------------------------------------------------------------------
  function uploadPhoto(id) {
    return db.get("photos", id).then(function (p) {
      if (!p || p.done) return null;
      // a photo tried before asks the server how much arrived; a new one starts at 0 (the server answers 409 with
      // the received size if it already has some)
      const start = p.started ? call("GET", "/mobile/uploads/" + id).then(function (st) { return st.received || 0; })
        : (p.started = true, db.put("photos", p).then(function () { return 0; }));
      return start.then(function (offset) {
        function next() {
          if (offset >= p.blob.size) {
            p.done = true;
            return db.put("photos", p);
          }
          const chunk = p.blob.slice(offset, offset + CHUNK);
          return call("PUT", "/mobile/uploads/" + id + "?offset=" + offset + "&total=" + p.blob.size, chunk,
            p.blob.type || "image/jpeg").then(function (r) { offset = r.received; return next(); });
        }
        return next();
      });
    });
  }

  /* A pool of PARALLEL_UPLOADS: upload(id) starts when a place is free; the photos start in the outbox's order. */
  function uploadPool() {
    const waiting = [];
    let running = 0;
    function pump() {
      while (running < PARALLEL_UPLOADS && waiting.length) {
        const job = waiting.shift();
        running++;
        uploadPhoto(job.id).then(job.resolve, job.reject).then(function () { running--; pump(); });
      }
    }
    return function (id) {
      return new Promise(function (resolve, reject) { waiting.push({id: id, resolve: resolve, reject: reject}); pump(); });
    };
  }

  /* Send the outbox oldest first, the changes in batches of up to 20 (fewer round trips on a slow link). Every photo
     of the queue starts uploading at once, a few in parallel, in order; a batch is sent as soon as its own photos
     have arrived, while the next batch's photos keep going. A change answered "pending" stops the run: the later
     ones wait, so the order holds. */
  function pushOutbox() {
    return db.all("outbox").then(function (items) {
      const queue = items.filter(function (c) { return c.state === "saved" || c.state === "sending"; })
        .sort(function (a, b) { return a.seq - b.seq; });
      const upload = uploadPool();
      const photoDone = {};
      queue.forEach(function (ch) {
        (ch.data.photos || []).forEach(function (id) { photoDone[id] = upload(id); photoDone[id].catch(function () { return null; }); });
      });
      let chain = Promise.resolve(true);
      if (!queue.length) return false;
      for (let i = 0; i < queue.length; i += 20) {
        const batch = queue.slice(i, i + 20);
        chain = chain.then(function (goOn) {
          if (!goOn) return false;
          batch.forEach(function (ch) { ch.state = "sending"; });
          return tx(["outbox"], "readwrite", function (s) { batch.forEach(function (ch) { s.outbox.put(ch); }); })
            .then(refreshCounter).then(function () {
              return Promise.all([].concat.apply([], batch.map(function (ch) {
                return (ch.data.photos || []).map(function (id) { return photoDone[id]; });
              })));
            }).then(function () {
            return call("POST", "/mobile/changes", JSON.stringify({changes: batch.map(function (ch) {
              return {uuid: ch.uuid, kind: ch.kind, base_version: ch.base_version, made_at: ch.made_at, data: ch.data};
            })}));
          }).then(function (resp) {
            const byId = {};
            resp.results.forEach(function (r) { byId[r.uuid] = r; });
            let stop = false;
            return tx(["outbox", "photos"], "readwrite", function (s) {
              batch.forEach(function (ch) {
                const r = byId[ch.uuid];
                if (!r || r.status === "pending") { ch.state = "saved"; stop = true; s.outbox.put(ch); return; }
                ch.state = {applied: "sent", merged: "conflict", conflict: "conflict", refused: "refused"}[r.status] || "refused";
                ch.message = r.message; ch.result = r.result; ch.sent_at = new Date().toISOString();
                s.outbox.put(ch);
                if (ch.state === "sent") (ch.data.photos || []).forEach(function (id) { s.photos.delete(id); });
              });
            }).then(function () { return !stop; });
          });
        });
      }
      return chain.then(function () { return true; });
    });
  }

  /* The households in memory, as the last sync left them (the list page does not read 2,000 records back from
     IndexedDB after each sync); null until the first sync or the first list after a reload. */
  let households = null;
  function byUuid(a, b) { return a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0; } // IndexedDB's order of keys
  function keepList(res) {
    const up = res.upserts.households || [];
    const gone = res.deletes.households || [];
    if (res.full) { households = up.slice().sort(byUuid); return; }
    if (!households || (!up.length && !gone.length)) return;
    const byId = {};
    households.forEach(function (hh, i) { byId[hh.uuid] = i; });
    let added = false;
    up.forEach(function (hh) {
      if (hh.uuid in byId) households[byId[hh.uuid]] = hh; else { households.push(hh); added = true; }
    });
    if (added) households.sort(byUuid);
    if (gone.length) {
      const out = {};
      gone.forEach(function (k) { out[k] = true; });
      households = households.filter(function (hh) { return !out[hh.uuid]; });
    }
  }
  function allHouseholds() {
    if (households) return Promise.resolve(households);
    return db.all("households").then(function (list) { households = list; return list; });
  }

  function pull() {
    mark("pull:start");
    return meta("cursor").then(function (cursor) {
      return call("GET", "/mobile/sync" + (cursor ? "?cursor=" + encodeURIComponent(cursor) : ""));
    }).then(function (res) {
      mark("pull:parsed");
      return tx(COLLECTIONS.concat(["meta"]), "readwrite", function (s) {
        COLLECTIONS.forEach(function (c) {
          if (res.full) s[c].clear();
          (res.upserts[c] || []).forEach(function (item) { s[c].put(item); });
          (res.deletes[c] || []).forEach(function (key) { s[c].delete(key); });
        });
        s.meta.put({key: "cursor", value: res.cursor});
        s.meta.put({key: "conflicts", value: res.conflicts});
        s.meta.put({key: "last_sync", value: new Date().toISOString()});
      }).then(function () {
        mark("pull:stored");
        res.changed = res.full || COLLECTIONS.some(function (c) {
          return (res.upserts[c] || []).length || (res.deletes[c] || []).length;
        }) || JSON.stringify(res.conflicts) !== JSON.stringify(state.conflicts);
        keepList(res);
        state.conflicts = res.conflicts;
        return res;
      });
    });
  }

  function sync() {
    if (state.syncing || !navigator.onLine || state.refusedAuth) return Promise.resolve();
    state.syncing = true; state.status = "同步中…"; renderBar();
    let changed = true;
    return pushOutbox().then(function (sent) {
      return pull().then(function (res) { changed = sent || res.changed; });
    }).then(function () {
      state.status = "已同步 " + new Date().toLocaleTimeString("zh-CN", {hour: "2-digit", minute: "2-digit"});
    }).catch(function (e) {
      if (e instanceof ApiError && e.status === 401) { state.refusedAuth = true; state.status = e.detail; }
      else state.status = "同步未完成,稍后自动重试" + (e && e.detail ? ":" + e.detail : "");
      return db.all("outbox").then(function (items) {  // a change left "sending" goes back to the queue
        return Promise.all(items.filter(function (c) { return c.state === "sending"; }).map(function (c) {
          c.state = "saved"; return db.put("outbox", c);
        }));
      });
    }).then(function () {
      state.syncing = false;
      return refreshCounter();
    }).then(function () {
      // nothing sent and nothing new: the page stays as it is (a form being filled is not redrawn)
      return changed ? route() : undefined;
    });
  }

  // Photos: resized on the phone before they are stored ------------------------------------------------------------
  /* Draw the photo at most PHOTO_MAX pixels on its longest side and encode it as JPEG; {blob, original}: the
     original's bytes and pixels are kept with the change. A photo the browser cannot decode is kept as it is. */
  function resizePhoto(file) {
    return createImageBitmap(file).then(function (bmp) {
      const original = {bytes: file.size, width: bmp.width, height: bmp.height, type: file.type || ""};
      if (file.type === "image/jpeg" && file.size <= PHOTO_KEEP && Math.max(bmp.width, bmp.height) <= PHOTO_MAX) {
        return {blob: file, original: original};
      }
      const scale = Math.min(1, PHOTO_MAX / Math.max(bmp.width, bmp.height));
      const canvas = document.createElement("canvas");
      canvas.width = Math.round(bmp.width * scale); canvas.height = Math.round(bmp.height * scale);
      canvas.getContext("2d").drawImage(bmp, 0, 0, canvas.width, canvas.height);
      if (bmp.close) bmp.close();
      return new Promise(function (resolve) { canvas.toBlob(resolve, "image/jpeg", PHOTO_QUALITY); }).then(function (blob) {
        return {blob: blob && blob.size < file.size ? blob : file, original: original};
      });
    }).catch(function () { return {blob: file, original: {bytes: file.size, type: file.type || ""}}; });
  }

  /* Every photo saved with a change passes here once (the pages, and anything calling saveChange). */
  function shrinkPhoto(p) {
    if (!p || !p.blob || p.original) return Promise.resolve(p);
    return resizePhoto(p.blob).then(function (r) { return Object.assign({}, p, {blob: r.blob, original: r.original}); });
  }

  function locate() {
    return new Promise(function (resolve) {
      if (!navigator.geolocation) { resolve(null); return; }
      navigator.geolocation.getCurrentPosition(function (pos) {
        resolve({lng: pos.coords.longitude, lat: pos.coords.latitude, gps_accuracy: Math.round(pos.coords.accuracy)});
      }, function () { resolve(null); }, {enableHighAccuracy: true, timeout: 15000, maximumAge: 60000});
    });
  }

  // Rendering --------------------------------------------------------------------------------------------------------
  const root = document.getElementById("app");
  let bar, main;

  function renderBar() {
    if (!bar) return;
    bar.replaceChildren(
      h("span", {class: "net " + (navigator.onLine ? "on" : "off"), text: navigator.onLine ? "在线" : "离线"}),
      h("a", {class: "unsent" + (state.unsent ? " has" : ""), href: "#/outbox", id: "unsent-count",
        "data-count": state.unsent}, "未发送 " + state.unsent),
      h("span", {class: "status", text: state.status}),
      h("button", {class: "btn small", type: "button", id: "sync-now", disabled: state.syncing || !navigator.onLine,
        onclick: function () { sync(); }}, "同步"));
  }

  function layout(title, content, back) {
    root.replaceChildren();
    bar = h("div", {class: "bar"});
    main = h("main", {class: "main"});
    const head = h("header", {class: "top"},
      back ? h("a", {class: "back", href: back, "aria-label": "返回"}, "‹") : null,
      h("h1", {text: title}));
    const nav = h("nav", {class: "tabs"},
      [["#/", "农户"], ["#/inbox", "待办"], ["#/minqing", "民情"], ["#/outbox", "待发送"], ["#/me", "我的"]].map(function (t) {
        return h("a", {href: t[0], class: location.hash === t[0] || (t[0] === "#/" && !location.hash) ? "on" : ""}, t[1]);
      }));
    root.append(head, bar, main, nav);
    renderBar();
    main.append.apply(main, [].concat(content).filter(function (c) { return c !== null && c !== undefined && c !== false; }));
  }

  function lightDot(light) {
    const c = light ? light.colour : "none";
    return h("span", {class: "dot " + c, title: COLOUR_TEXT[c] || "未计算", text: COLOUR_TEXT[c] || "—"});
  }

  function pendingFor(outbox, hh) {
    return outbox.filter(function (c) { return c.household === hh; });
  }

  /* The phone's view of a household: the server's copy with the worker's unsent field changes laid over it. */
  function overlay(hh, outbox) {
    const copy = Object.assign({}, hh);
    outbox.filter(function (c) { return c.kind === "household" && c.household === hh.uuid && (c.state === "saved" || c.state === "sending"); })
      .sort(function (a, b) { return a.seq - b.seq; })
      .forEach(function (c) { Object.assign(copy, c.data.fields); });
    return copy;
  }

  function viewLogin() {
    const u = h("input", {name: "username", autocomplete: "username", required: true});
    const p = h("input", {name: "password", type: "password", autocomplete: "current-password", required: true});
    const d = h("input", {name: "device_name", value: "我的手机", required: true});
    const err = h("p", {class: "error", role: "alert"});
    const form = h("form", {class: "card form", onsubmit: function (ev) {
      ev.preventDefault();
      err.textContent = "";
      fetch(API + "/auth/token", {method: "POST", headers: {"Content-Type": "application/json"}, credentials: "omit",
        body: JSON.stringify({username: u.value.trim(), password: p.value, device_name: d.value.trim()})})
        .then(function (r) { return r.json().then(function (j) { return [r.status, j]; }); })
        .then(function (res) {
          if (res[0] !== 201) { err.textContent = res[1].detail || "登录失败"; return null; }
          state.refusedAuth = false;
          return tx(["meta"], "readwrite", function (s) {
            s.meta.put({key: "token", value: res[1].token});
            s.meta.put({key: "user", value: res[1].user});
            s.meta.put({key: "device", value: res[1].device_name});
            s.meta.delete("cursor");
          }).then(function () { state.user = res[1].user; go("#/"); return sync(); });
        })
        .catch(function () { err.textContent = "无法连接服务器:第一次登录需要网络"; });
    }},
    field("用户名", u), field("密码", p), field("设备名称", d, "如:张三的手机。丢失时可在电脑上一键吊销。"),
    h("button", {class: "btn primary big", type: "submit"}, "登录"), err);
    root.replaceChildren(h("header", {class: "top"}, h("h1", {text: "扶贫网格通"})),
      h("main", {class: "main"}, h("p", {class: "lead", text: "网格员、帮扶干部的离线工作应用。登录一次后,没有信号也能走访、记录。"}), form));
  }

  function viewHouseholds() {
    return Promise.all([allHouseholds(), db.all("outbox")]).then(function (r) {
      const list = r[0].map(function (hh) { return overlay(hh, r[1]); });
      const q = h("input", {type: "search", placeholder: "搜索户主、户编号、电话", class: "search", id: "hh-search"});
      const ul = h("ul", {class: "list"});
      function fill() {
        const term = q.value.trim();
        ul.replaceChildren.apply(ul, list.filter(function (hh) {
          return !term || [hh.head_name, hh.poor_code, hh.phone, hh.address].join(" ").indexOf(term) >= 0;
        }).slice(0, 300).map(function (hh) {
          const mine = pendingFor(r[1], hh.uuid).filter(function (c) { return c.state !== "sent"; });
          return h("li", {}, h("a", {class: "row", href: "#/h/" + hh.uuid},
            lightDot(hh.light),
            h("span", {class: "grow"}, h("strong", {text: hh.head_name || "(未填户主)"}),
              h("small", {text: [hh.poor_code, hh.group_name, hh.phone].filter(Boolean).join(" · ")})),
            mine.length ? badge(mine[mine.length - 1].state) : null));
        }));
      }
      q.addEventListener("input", fill);
      fill();
      mark("list:built");
      layout("我的农户(" + list.length + "户)", [q, list.length ? ul : h("p", {class: "empty", text: "还没有数据:联网后点“同步”。"})]);
    });
  }

  function section(title, body) { return h("section", {class: "card"}, h("h2", {text: title}), body); }

  function viewHousehold(id) {
    return Promise.all([db.get("households", id), db.all("outbox"), meta("conflicts")]).then(function (r) {
      if (!r[0]) { layout("农户", h("p", {class: "empty", text: "本机没有这一户(可能已移出您的范围)。"}), "#/"); return; }
      const hh = overlay(r[0], r[1]);
      const mine = pendingFor(r[1], id).sort(function (a, b) { return b.seq - a.seq; });
      const conflicts = (r[2] || []).filter(function (c) { return c.household === id; });
      const light = hh.light;
      layout(hh.head_name + "户", [
        h("div", {class: "actions"},
          h("a", {class: "btn primary big", href: "#/visit/" + id}, "记录走访"),
          h("a", {class: "btn big", href: "#/edit/" + id}, "农户信息"),
          h("a", {class: "btn big", href: "#/cr/" + id}, "报告出生死亡迁移"),
          h("a", {class: "btn big", href: "#/minqing/" + id}, "反映民情"),
          h("a", {class: "btn big", href: "#/errand/" + id}, "代办")),
        conflicts.length ? section("冲突待处理", conflicts.map(conflictCard)) : null,
        section("基本信息", h("dl", {class: "kv"},
          h("dt", {text: "户编号"}), h("dd", {text: hh.poor_code || "—"}),
          h("dt", {text: "联系电话"}), h("dd", {id: "hh-phone", text: hh.phone || "—"}),
          h("dt", {text: "住址"}), h("dd", {text: hh.address || "—"}),
          h("dt", {text: "预警"}), h("dd", {}, lightDot(light), light && light.days !== null ? " " + light.days + "天未帮扶" : ""),
          light && light.reasons.length ? [h("dt", {text: "原因"}), h("dd", {text: light.reasons.join(";")})] : null)),
        section("家庭成员(" + hh.members.length + ")", h("ul", {class: "plain"}, hh.members.map(function (m) {
          return h("li", {text: [m.name, m.relationship, SEX_TEXT[m.sex] || m.sex, m.id_number, m.is_alive ? "" : "已故"].filter(Boolean).join(" · ")});
        }))),
        hh.findings.length ? section("比对发现待核实", h("ul", {class: "plain"}, hh.findings.map(function (f) {
          return h("li", {}, h("a", {class: "row", href: "#/finding/" + id + "/" + f.uuid},
            h("span", {class: "grow", text: (f.person ? f.person + ":" : "") + f.rule}), h("span", {class: "go", text: "核实 ›"})));
        }))) : null,
        section("帮扶措施", hh.measures.length ? h("ul", {class: "plain"}, hh.measures.map(function (m) {
          return h("li", {}, h("a", {class: "row", href: m.status === "done" ? null : "#/measure/" + id + "/" + m.uuid},
            h("span", {class: "grow", text: m.title + (m.target_date ? "(" + m.target_date + ")" : "")}),
            h("span", {class: "go", text: m.status === "done" ? "已完成" : "标记完成 ›"})));
        })) : h("p", {class: "muted", text: "暂无措施"})),
        section("享受政策", hh.receipts.length ? h("ul", {class: "plain"}, hh.receipts.map(function (x) {
          return h("li", {text: x.policy + " · " + x.received_on + (x.amount ? " · " + x.amount + "元" : "")});
        })) : h("p", {class: "muted", text: "暂无记录"})),
        section("本机记录", mine.length ? h("ul", {class: "plain", id: "local-records"}, mine.map(changeItem)) :
          h("p", {class: "muted", text: "本机还没有这一户的记录"})),
      ], "#/");
    });
  }

  function changeItem(c) {
    return h("li", {class: "change", "data-state": c.state},
      h("span", {class: "grow"}, h("strong", {text: KIND_TEXT[c.kind] || c.kind}), " ", c.summary || "",
        h("small", {text: new Date(c.made_at).toLocaleString("zh-CN") + (c.message ? " · " + c.message : "")})),
      badge(c.state));
  }

  function conflictCard(c) {
    const box = h("div", {class: "conflict"},
      h("p", {}, h("strong", {text: FIELD_TEXT[c.field] || c.field}), "  原值:" + shown(c.base)),
      h("div", {class: "sides"},
        h("div", {}, h("small", {text: "他人已改为"}), h("b", {text: shown(c.theirs)})),
        h("div", {}, h("small", {text: "本机改为"}), h("b", {text: shown(c.ours)}))));
    const msg = h("p", {class: "error"});
    function resolve(choice) {
      call("POST", "/mobile/conflicts/" + c.uuid + "/resolve", JSON.stringify({choice: choice}))
        .then(function () { return sync(); })
        .catch(function (e) { msg.textContent = (e && e.detail) || "需要联网才能处理冲突"; });
    }
    box.append(h("div", {class: "actions"},
      h("button", {class: "btn", type: "button", onclick: function () { resolve("theirs"); }}, "保留他人的"),
      h("button", {class: "btn primary", type: "button", onclick: function () { resolve("ours"); }}, "用本机的")), msg);
    return box;
  }

  function formPage(title, back, fields, onsave) {
    const err = h("p", {class: "error", role: "alert"});
    const form = h("form", {class: "card form", onsubmit: function (ev) {
      ev.preventDefault();
      err.textContent = "";
      const btn = form.querySelector("button[type=submit]");
      btn.disabled = true;
      Promise.resolve(onsave(form)).then(function (ok) {
        if (ok === false) { btn.disabled = false; return; }
        go(back);
      }).catch(function (e) { btn.disabled = false; err.textContent = (e && e.message) || "保存失败"; });
    }}, fields, h("button", {class: "btn primary big", type: "submit"}, "保存到手机"), err);
    layout(title, form, back);
  }

  function viewVisit(id) {
    return db.get("households", id).then(function (hh) {
      if (!hh) return go("#/");
      const kind = h("select", {name: "kind"}, h("option", {value: "visit"}, "入户走访"), h("option", {value: "call"}, "电话联系"));
      const date = h("input", {type: "date", name: "occurred_on", value: today(), max: today()});
      const content = h("textarea", {name: "content", rows: 4, required: true, placeholder: "做了什么、看到什么"});
      const needs = h("textarea", {name: "needs", rows: 2, placeholder: "群众提出的需求(可不填)"});
      const photo = h("input", {type: "file", name: "photo", accept: "image/*", capture: "environment"});
      const gpsText = h("span", {class: "hint", text: "未定位"});
      let gps = null;
      const gpsBtn = h("button", {type: "button", class: "btn", onclick: function () {
        gpsText.textContent = "定位中…";
        locate().then(function (g) { gps = g; gpsText.textContent = g ? "已定位,精度约" + g.gps_accuracy + "米" : "无法定位"; });
      }}, "获取位置");
      formPage("记录走访:" + hh.head_name + "户", "#/h/" + id,
        [field("方式", kind), field("日期", date), field("帮扶内容", content), field("群众需求", needs),
          field("照片", photo, "照片在手机上压缩后保存"), h("div", {class: "field"}, gpsBtn, gpsText)],
        function () {
          if (!content.value.trim()) throw new Error("请填写帮扶内容");
          const files = Array.from(photo.files || []);
          return Promise.resolve(files).then(function (blobs) {
            const photos = blobs.filter(Boolean).map(function (b) { return {uuid: uuid4(), blob: b, done: false}; });
            const data = Object.assign({household: id, kind: kind.value, occurred_on: date.value, content: content.value.trim(),
              needs: needs.value.trim(), photos: photos.map(function (p) { return p.uuid; })}, gps || {});
            return saveChange("visit", data, {photos: photos, summary: content.value.trim().slice(0, 30) + (photos.length ? "(含照片)" : "")});
          });
        });
    });
  }

  /* The household form: the fields the worker may change, as the server defines them (with their code lists). */
  function formValue(type, v) {
    if (type === "bool") return v === true || v === "true" ? "true" : v === false || v === "false" ? "false" : "";
    if (type === "decimal") return v === null || v === undefined || v === "" || isNaN(Number(v)) ? String(v || "").trim() : Number(v).toFixed(2);
    return v === null || v === undefined ? "" : String(v).trim();
  }
  function sendValue(type, text) {
    if (type === "bool") return text === "true" ? true : text === "false" ? false : null;
    if (type === "decimal") return text === "" ? null : text;
    return text;
  }

  function viewEdit(id) {
    return Promise.all([db.get("households", id), db.all("outbox"), db.get("forms", "registry.household")]).then(function (r) {
      if (!r[0]) return go("#/");
      const server = r[0];
      const hh = overlay(server, r[1]);
      const defs = r[2] && r[2].definition ? r[2].definition.fields :
        ["phone", "address", "group_name"].map(function (n) { return {name: n, label: FIELD_TEXT[n], type: "text"}; });
      const inputs = {};
      defs.forEach(function (f) {
        const now = formValue(f.type, hh[f.name]);
        let input;
        if (f.type === "bool") {
          input = h("select", {name: f.name}, [["", "未填"], ["true", "是"], ["false", "否"]].map(function (o) {
            return h("option", {value: o[0], selected: o[0] === now}, o[1]);
          }));
        } else if (f.type === "code") {
          const choices = (f.choices || []).slice();
          if (!choices.some(function (c) { return c[0] === ""; })) choices.unshift(["", "未填"]);
          input = h("select", {name: f.name}, choices.map(function (c) { return h("option", {value: c[0], selected: c[0] === now}, c[1]); }));
        } else if (f.type === "decimal") {
          input = h("input", {name: f.name, type: "number", step: "0.01", min: "0", inputmode: "decimal", value: now});
        } else {
          input = h("input", {name: f.name, type: f.name === "phone" ? "tel" : "text", value: now});
        }
        inputs[f.name] = {def: f, input: input};
      });
      formPage("农户信息:" + hh.head_name + "户", "#/h/" + id,
        defs.map(function (f) { return field(f.label, inputs[f.name].input); }),
        function () {
          const fields = {}, base = {};
          defs.forEach(function (f) {
            const text = formValue(f.type, inputs[f.name].input.value);
            if (text !== formValue(f.type, hh[f.name])) {
              fields[f.name] = sendValue(f.type, text);
              base[f.name] = server[f.name] === undefined ? null : server[f.name];
            }
          });
          if (!Object.keys(fields).length) throw new Error("没有改动");
          return saveChange("household", {household: id, fields: fields, base: base},
            {base_version: server.version, summary: Object.keys(fields).map(function (k) { return (FIELD_TEXT[k] || k) + "→" + shown(fields[k]); }).join(",")});
        });
    });
  }

  /* A birth, death or move: a change request the village team approves (nothing changes in the registry before). */
  function viewChangeRequest(id) {
    return db.get("households", id).then(function (hh) {
      if (!hh) return go("#/");
      const living = hh.members.filter(function (m) { return m.is_alive; });
      const kind = h("select", {name: "kind"}, CR_KINDS.map(function (k) { return h("option", {value: k[0]}, k[1]); }));
      const date = h("input", {type: "date", name: "date", value: today(), max: today()});
      const name = h("input", {name: "name"});
      const sex = h("select", {name: "sex"}, h("option", {value: ""}, "未填"), h("option", {value: "1"}, "男"), h("option", {value: "2"}, "女"));
      const birth = h("input", {type: "date", name: "birth_date", max: today()});
      const rel = h("input", {name: "relationship", placeholder: "如:之子、之孙女、之儿媳"});
      const idn = h("input", {name: "id_number", inputmode: "numeric", placeholder: "可不填"});
      const person = h("select", {name: "person"}, h("option", {value: ""}, "请选择"), living.map(function (m) {
        return h("option", {value: m.uuid}, m.name + "(" + (m.relationship || "") + ")");
      }));
      const newHead = h("select", {name: "new_head"}, h("option", {value: ""}, "不变(离开的不是户主)"), living.map(function (m) {
        return h("option", {value: m.uuid}, m.name);
      }));
      const place = h("input", {name: "place", placeholder: "从哪里迁来 / 迁往哪里"});
      const note = h("textarea", {name: "note", rows: 2, placeholder: "说明(可不填)"});
      const photo = h("input", {type: "file", name: "photo", accept: "image/*", capture: "environment"});
      const rows = {name: field("姓名", name), sex: field("性别", sex), birth: field("出生日期", birth),
        rel: field("与户主关系", rel), idn: field("证件号码", idn), person: field("成员", person),
        newHead: field("新户主", newHead, "户主死亡或迁出时选择"), place: field("地点", place)};
      const show = {birth: ["name", "sex", "birth", "rel", "idn"], move_in: ["name", "sex", "rel", "idn", "place"],
        death: ["person", "newHead"], move_out: ["person", "newHead", "place"]};
      function toggle() {
        Object.keys(rows).forEach(function (k) { rows[k].hidden = show[kind.value].indexOf(k) < 0; });
      }
      kind.addEventListener("change", toggle);
      toggle();
      formPage("报告变动:" + hh.head_name + "户", "#/h/" + id,
        [h("p", {class: "muted", text: "出生、死亡、迁入迁出由村工作队审核后登记。"}), field("变动", kind), field("日期", date),
          rows.name, rows.sex, rows.birth, rows.rel, rows.idn, rows.person, rows.newHead, rows.place, field("说明", note),
          field("佐证照片", photo, "如出生证明、死亡证明;照片在手机上压缩后保存")],
        function () {
          const k = kind.value, payload = {};
          if (k === "birth" || k === "move_in") {
            if (!name.value.trim()) throw new Error("请填写姓名");
            Object.assign(payload, {name: name.value.trim(), sex: sex.value, relationship: rel.value.trim(), id_number: idn.value.trim()});
            if (k === "birth") payload.birth_date = birth.value;
            else payload.from_place = place.value.trim();
          } else {
            if (!person.value) throw new Error("请选择成员");
            Object.assign(payload, {person: person.value, new_head: newHead.value});
            if (k === "move_out") payload.to_place = place.value.trim();
          }
          const photos = Array.from(photo.files || []).slice(0, 1).map(function (b) { return {uuid: uuid4(), blob: b, done: false}; });
          const who = payload.name || (living.find(function (m) { return m.uuid === payload.person; }) || {}).name || "";
          const label = CR_KINDS.find(function (x) { return x[0] === k; })[1];
          return saveChange("change_request", {household: id, kind: k, date: date.value, payload: payload, note: note.value.trim(),
            photos: photos.map(function (p) { return p.uuid; })}, {photos: photos, summary: label + " " + who + (photos.length ? "(含照片)" : "")});
        });
    });
  }

  function viewErrand(id) {
    return db.get("households", id).then(function (hh) {
      if (!hh) return go("#/");
      const matter = h("input", {name: "matter", required: true, placeholder: "如:代办医保报销"});
      const office = h("input", {name: "office", placeholder: "去哪里办(可不填)"});
      formPage("代办:" + hh.head_name + "户", "#/h/" + id, [field("代办事项", matter), field("办理单位", office)], function () {
        if (!matter.value.trim()) throw new Error("请填写代办事项");
        return saveChange("errand", {household: id, matter: matter.value.trim(), office: office.value.trim(), opened_on: today()},
          {summary: matter.value.trim()});
      });
    });
  }

  function viewMinqing(id) {
    return Promise.all([id ? db.get("households", id) : Promise.resolve(null), db.all("reports"), db.all("outbox")]).then(function (r) {
      const hh = r[0];
      const category = h("select", {name: "category"}, CATEGORIES.map(function (c) { return h("option", {value: c[0]}, c[1]); }));
      const urgency = h("select", {name: "urgency"}, h("option", {value: "normal"}, "一般"), h("option", {value: "urgent"}, "紧急"),
        h("option", {value: "critical"}, "特急"));
      const content = h("textarea", {name: "content", rows: 4, required: true, placeholder: "群众反映了什么"});
      const back = id ? "#/h/" + id : "#/minqing";
      const err = h("p", {class: "error", role: "alert"});
      const form = h("form", {class: "card form", onsubmit: function (ev) {
        ev.preventDefault();
        if (!content.value.trim()) { err.textContent = "请填写反映内容"; return; }
        saveChange("minqing", {household: id || null, category: category.value, urgency: urgency.value,
          content: content.value.trim(), reported_at: new Date().toISOString()}, {summary: content.value.trim().slice(0, 30)})
          .then(function () { go(id ? back : "#/outbox"); });
      }}, hh ? h("p", {class: "muted", text: "农户:" + hh.head_name + "户"}) : null,
      field("类别", category), field("紧急程度", urgency), field("反映内容", content),
      h("button", {class: "btn primary big", type: "submit"}, "保存到手机"), err);
      const mineLocal = r[2].filter(function (c) { return c.kind === "minqing"; }).sort(function (a, b) { return b.seq - a.seq; });
      layout("反映民情", [form,
        section("本机记录的民情", mineLocal.length ? h("ul", {class: "plain"}, mineLocal.map(changeItem)) : h("p", {class: "muted", text: "暂无"})),
        section("我报送的民情", r[1].length ? h("ul", {class: "plain"}, r[1].map(function (x) {
          return h("li", {text: (x.number || "") + " " + x.content.slice(0, 40) + (x.answer ? " —— 答复:" + x.answer : "")});
        })) : h("p", {class: "muted", text: "暂无"}))], id ? back : null);
    });
  }

  function viewFinding(id, fid) {
    return db.get("households", id).then(function (hh) {
      const f = hh && hh.findings.find(function (x) { return x.uuid === fid; });
      if (!f) return go("#/h/" + id);
      const decision = h("select", {name: "decision"}, h("option", {value: "confirm"}, "属实"), h("option", {value: "dismiss"}, "不属实,排除"));
      const reason = h("textarea", {name: "reason", rows: 3, placeholder: "核实情况(排除时必填)"});
      formPage("核实:" + hh.head_name + "户", "#/h/" + id, [h("p", {text: (f.person ? f.person + ":" : "") + f.rule}),
        field("核实结论", decision), field("说明", reason)], function () {
        if (decision.value === "dismiss" && !reason.value.trim()) throw new Error("排除须说明理由");
        return saveChange("finding", {household: id, finding: fid, decision: decision.value, reason: reason.value.trim()},
          {base_version: f.version, summary: f.rule + (decision.value === "confirm" ? " 属实" : " 排除")});
      });
    });
  }

  function viewMeasure(id, mid) {
    return db.get("households", id).then(function (hh) {
      const m = hh && hh.measures.find(function (x) { return x.uuid === mid; });
      if (!m) return go("#/h/" + id);
      const evidence = h("textarea", {name: "evidence", rows: 3, required: true, placeholder: "完成情况、佐证"});
      formPage("措施完成", "#/h/" + id, [h("p", {text: m.title}), field("佐证说明", evidence)], function () {
        if (!evidence.value.trim()) throw new Error("请填写佐证说明");
        return saveChange("measure_done", {household: id, measure: mid, evidence: evidence.value.trim(), done_on: today()},
          {base_version: m.version, summary: m.title});
      });
    });
  }

  function viewInbox() {
    return Promise.all([db.all("inbox"), db.all("orders")]).then(function (r) {
      layout("待办", [
        section("待办事项(" + r[0].length + ")", r[0].length ? h("ul", {class: "plain"}, r[0].map(function (i) {
          return h("li", {}, h("strong", {text: i.title}), i.due_date ? h("small", {text: "期限 " + i.due_date}) : null);
        })) : h("p", {class: "muted", text: "没有待办"})),
        section("我发起的工单", r[1].length ? h("ul", {class: "plain"}, r[1].map(function (o) {
          return h("li", {text: (o.number || "") + " " + o.title});
        })) : h("p", {class: "muted", text: "暂无"}))]);
    });
  }

  function viewOutbox() {
    return db.all("outbox").then(function (items) {
      items.sort(function (a, b) { return b.seq - a.seq; });
      layout("待发送与已发送", [
        h("p", {class: "muted", text: "每条记录先存在手机上,有信号时自动发送;同一条不会重复提交。"}),
        items.length ? h("ul", {class: "plain", id: "outbox-list"}, items.map(changeItem)) : h("p", {class: "empty", text: "没有记录"})]);
    });
  }

  function viewMe() {
    return Promise.all([meta("user"), meta("device"), meta("last_sync"),
      navigator.storage && navigator.storage.persisted ? navigator.storage.persisted() : Promise.resolve(false)]).then(function (r) {
      const user = r[0] || {};
      const warn = h("p", {class: "error", role: "alert"});
      layout("我的", [
        section("账号", h("dl", {class: "kv"}, h("dt", {text: "用户"}), h("dd", {text: user.display_name || user.username || ""}),
          h("dt", {text: "设备"}), h("dd", {text: r[1] || ""}),
          h("dt", {text: "上次同步"}), h("dd", {text: r[2] ? new Date(r[2]).toLocaleString("zh-CN") : "从未"}))),
        section("本机存储", h("p", {class: r[3] ? "muted" : "error", text: r[3] ? "本机数据已设为持久保存。" :
          "浏览器空间不足时可能清理本机数据:请及时同步,不要清除浏览器数据。"})),
        state.conflicts.length ? section("冲突待处理", state.conflicts.map(conflictCard)) : null,
        h("button", {class: "btn danger big", type: "button", id: "sign-out", onclick: function () {
          if (state.unsent > 0 && !confirm("还有 " + state.unsent + " 条记录没有发送到服务器。退出登录会删除本机数据,这些记录将丢失。确定退出?")) {
            warn.textContent = "已取消退出。请先联网同步。";
            return;
          }
          (navigator.onLine ? call("DELETE", "/auth/token").catch(function () { return null; }) : Promise.resolve()).then(function () {
            return tx(Object.keys(STORES), "readwrite", function (s) { Object.keys(STORES).forEach(function (n) { s[n].clear(); }); });
          }).then(function () { state.user = null; state.unsent = 0; households = null; go("#/login"); route(); });
        }}, "退出登录"), warn]);
    });
  }

  function route() {
    if (!state.user) { viewLogin(); return Promise.resolve(); }
    const parts = (location.hash || "#/").slice(2).split("/");
    switch (parts[0]) {
      case "h": return viewHousehold(parts[1]);
      case "visit": return viewVisit(parts[1]);
      case "edit": return viewEdit(parts[1]);
      case "cr": return viewChangeRequest(parts[1]);
      case "errand": return viewErrand(parts[1]);
      case "minqing": return viewMinqing(parts[1]);
      case "finding": return viewFinding(parts[1], parts[2]);
      case "measure": return viewMeasure(parts[1], parts[2]);
      case "inbox": return viewInbox();
      case "outbox": return viewOutbox();
      case "me": return viewMe();
      default: return viewHouseholds();
    }
  }

  // Start ------------------------------------------------------------------------------------------------------------
  function start() {
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.register("/app/sw.js", {scope: "/app/"}).catch(function () { return null; });
    }
    if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(function () { return false; });
    window.addEventListener("online", function () { renderBar(); sync(); });
    window.addEventListener("offline", renderBar);
    window.addEventListener("hashchange", route);
    window.addEventListener("beforeunload", function (ev) {
      if (state.unsent > 0 && !navigator.onLine) { ev.preventDefault(); ev.returnValue = ""; }
    });
    setInterval(function () { if (navigator.onLine) sync(); }, 60000);
    Promise.all([meta("token"), meta("user"), meta("conflicts")]).then(function (r) {
      state.user = r[0] ? r[1] : null;
      state.conflicts = r[2] || [];
      return refreshCounter();
    }).then(route).then(function () { if (state.user && navigator.onLine) sync(); });
  }
  // for the benchmark (bench/mobile_slow3g.py) and the curious: the same functions the pages use
  window.fupinApp = {sync: sync, state: state, saveChange: saveChange};
  start();
})();
