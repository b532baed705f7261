"""The phone app over an emulated slow 3G link, in headless Chromium (Chrome's network emulation through CDP:
1.6 Mbit/s down, 750 kbit/s up, 150 ms round trip):

1. sign in and first sync of a grid of 2,000 households: from the tap on 登录 to the list of 2,000 households;
2. a sync with nothing changed;
3. 50 visits with one photo each, made offline (photos drawn on the phone and resized like a camera's), sent when
   the link returns: from going online to 未发送 0.

Usage: .venv/bin/python bench/mobile_slow3g.py [--households 2000] [--visits 50] [--port 8015] [--write-doc]
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from registry_common import append_doc, load_note, setup_database  # noqa: E402

SLOW_3G = {"offline": False, "latency": 150, "downloadThroughput": 1.6e6 / 8, "uploadThroughput": 750e3 / 8}

MAKE_PHOTOS = """async (n) => {
  const out = [];
  for (let i = 0; i < n; i++) {
    const c = document.createElement("canvas"); c.width = 1024; c.height = 768;
    const g = c.getContext("2d");
    g.fillStyle = "#8a9a5b"; g.fillRect(0, 0, 1024, 768);
    for (let k = 0; k < 400; k++) {
      g.fillStyle = `hsl(${(k * 37 + i * 11) % 360}, 40%, ${30 + (k * 13) % 50}%)`;
      g.beginPath(); g.arc((k * 97 + i * 31) % 1024, (k * 53 + i * 17) % 768, 8 + (k * 7) % 60, 0, 6.3); g.fill();
    }
    const img = g.getImageData(0, 0, 1024, 768);
    for (let p = 0; p < img.data.length; p += 4) { const d = ((p * 2654435761) >>> 24) % 24 - 12; img.data[p] += d; img.data[p + 1] += d; }
    g.putImageData(img, 0, 0);
    const blob = await new Promise((r) => c.toBlob(r, "image/jpeg", 0.6));
    const id = crypto.randomUUID();
    await window.fupinApp.saveChange("visit", {household: window.__hh, content: "走访第" + (i + 1) + "户", photos: [id]},
      {photos: [{uuid: id, blob: blob, done: false}], summary: "走访"});
    out.push(blob.size);
  }
  return out;
}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=2000)
    parser.add_argument("--visits", type=int, default=50)
    parser.add_argument("--port", type=int, default=8015)
    parser.add_argument("--write-doc", action="store_true")
    parser.add_argument("--reuse", metavar="DIR", help="a directory holding a database this script (or "
                        "bench/mobile_sync.py's build) made before: the grids are not built again")
    args = parser.parse_args()
    if args.reuse:
        import os

        os.environ["FUPIN_DATA_DIR"] = args.reuse
        os.environ["DATABASE_URL"] = f"sqlite:///{args.reuse}/bench.sqlite3"
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        os.environ["FUPIN_DEBUG"] = "0"
        os.environ["FUPIN_LOG_LEVEL"] = "WARNING"
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        label = "SQLite"
    else:
        label = setup_database(None, "fupin_bench_slow3g")
    from django.conf import settings
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.test.testcases import LiveServerThread
    from mobile_sync import build

    settings.ALLOWED_HOSTS = ["*"]
    settings.DEBUG = False
    from fupin.accounts.models import User

    if not (args.reuse and User.objects.filter(username="wg0").exists()):
        build(args.households)
    from fupin.accounts.models import User
    from fupin.registry.models import Household

    worker = User.objects.get(username="wg0")
    worker.set_password("bench-pass-2016")
    worker.save()
    first_hh = str(Household.objects.filter(area_code=worker.grid.code).order_by("id").first().uuid)
    from fupin.assistance.models import AssistanceRecord, RecordAttachment

    before = (AssistanceRecord.objects.filter(household__uuid=first_hh).count(), RecordAttachment.objects.count())

    server = LiveServerThread("127.0.0.1", StaticFilesHandler, port=args.port)
    server.daemon = True
    server.start()
    server.is_ready.wait()
    if server.error:
        raise server.error
    url = f"http://127.0.0.1:{args.port}"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"),
                                    args=["--headless", "--no-sandbox", "--disable-gpu"])
        ctx = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN")
        page = ctx.new_page()
        cdp = ctx.new_cdp_session(page)
        cdp.send("Network.enable")
        page.goto(f"{url}/app/", timeout=180_000)  # the shell once (on a phone: when the app is installed)
        page.wait_for_selector("input[name=username]", timeout=180_000)
        cdp.send("Network.emulateNetworkConditions", SLOW_3G)
        page.fill("input[name=username]", "wg0")
        page.fill("input[name=password]", "bench-pass-2016")
        page.fill("input[name=device_name]", "测速手机")
        t0, c0 = time.monotonic(), time.process_time()
        page.click("button[type=submit]")
        page.wait_for_selector(f"h1:has-text('我的农户({args.households}户)')", timeout=120_000)
        page.wait_for_function("document.querySelector('.bar .status').textContent.startsWith('已同步')",
                               timeout=120_000)
        first, first_cpu = time.monotonic() - t0, time.process_time() - c0
        # the requests inside it (resource timing: request start to the last byte, through the emulated link) and
        # the app's own marks (fupin:pull:parsed, fupin:pull:stored, fupin:list:built)
        timing = page.evaluate("""() => {
          const e = performance.getEntriesByType("resource");
          const one = (part) => e.filter((x) => x.name.includes(part))[0];
          const t = one("/api/v1/auth/token"), s = one("/api/v1/mobile/sync");
          const m = {};
          performance.getEntriesByType("mark").forEach((x) => { m[x.name.slice(6)] = x.startTime; });
          return {token: t.duration / 1000, token_end: t.responseEnd, sync: s.duration / 1000,
                  wait: (s.responseStart - s.requestStart) / 1000, download: (s.responseEnd - s.responseStart) / 1000,
                  bytes: s.transferSize, parse: (m["pull:parsed"] - s.responseEnd) / 1000,
                  store: (m["pull:stored"] - m["pull:parsed"]) / 1000, list: (m["list:built"] - m["pull:stored"]) / 1000};
        }""")
        empties, empty_cpu = [], []
        for _ in range(5):
            c0 = time.process_time()
            empties.append(page.evaluate("async () => { const t = performance.now(); await window.fupinApp.sync();"
                                         " return performance.now() - t; }") / 1000)
            empty_cpu.append(time.process_time() - c0)
        empty = statistics.median(empties)

        ctx.set_offline(True)
        page.evaluate(f"window.__hh = '{first_hh}'")
        sizes = page.evaluate(MAKE_PHOTOS, args.visits)
        page.wait_for_selector(f"#unsent-count[data-count='{args.visits}']")
        ctx.set_offline(False)
        cdp.send("Network.emulateNetworkConditions", SLOW_3G)
        t0, c0 = time.monotonic(), time.process_time()
        page.evaluate("window.fupinApp.sync()")
        page.wait_for_selector("#unsent-count[data-count='0']", timeout=600_000)
        sent, sent_cpu = time.monotonic() - t0, time.process_time() - c0
        browser.close()
    from django.db.models import Avg

    from fupin.mobile.models import Upload

    records = AssistanceRecord.objects.filter(household__uuid=first_hh).count() - before[0]
    photos = RecordAttachment.objects.count() - before[1]
    avg_kb = sum(sizes) / len(sizes) / 1024
    sent_kb = (Upload.objects.aggregate(a=Avg("total"))["a"] or 0) / 1024
    lines = [
        f"## Phone app over emulated slow 3G (bench/mobile_slow3g.py, {label}, {dt.date.today().isoformat()})",
        "",
        f"Headless Chromium at 360 px, Chrome's network emulation through CDP (1.6 Mbit/s down, 750 kbit/s up, "
        f"150 ms round trip); the server in the same machine, 2 cores shared with other helpers ({load_note()}).",
        "",
        "| measure | figure | target |",
        "| --- | --- | --- |",
        f"| sign in and first sync of a grid of {args.households:,} households (tap on 登录 → the list) | "
        f"{first:.1f} s | — |",
        f"| … of which signing in (`POST /auth/token`: the password's PBKDF2 check, 1,000,000 iterations) | "
        f"{timing['token']:.1f} s | — |",
        f"| … the first sync's request (`GET /mobile/sync`): waiting for the server / downloading "
        f"{timing['bytes'] / 1024:.0f} KB | {timing['wait']:.1f} s / {timing['download']:.1f} s | — |",
        f"| … on the phone: parsing the answer / storing it in IndexedDB (one transaction) / the list | "
        f"{timing['parse']:.2f} s / {timing['store']:.2f} s / {timing['list']:.2f} s | — |",
        f"| first sync as the worker sees it: from the token to the list (the sync, storing on the phone, the list) | "
        f"**{first - timing['token']:.1f} s** | ≤ 10 s |",
        f"| … CPU seconds of the server process (it also drives the browser) during sign-in and first sync | "
        f"{first_cpu:.2f} s | — |",
        f"| sync with nothing changed (in the app: outbox + change feed), median of 5 ({', '.join(f'{e:.2f}' for e in empties)}) | "
        f"**{empty:.2f} s** (server process CPU {statistics.median(empty_cpu) * 1000:.0f} ms) | ≤ 1 s |",
        f"| {args.visits} visits made offline with one photo each (1024 × 768 JPEG of {avg_kb:.0f} KB on average, "
        f"shrunk by the app to {sent_kb:.0f} KB), sent when the link returns | {sent:.1f} s, server process CPU "
        f"{sent_cpu:.1f} s ({records} records, {photos} photos on the server) | ≤ 60 s |",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write_doc:
        append_doc(text)
    server.terminate()


if __name__ == "__main__":
    main()
