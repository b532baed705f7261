"""Load test (issue 12): 200 concurrent users of mixed roles against the production server with the demo county.

Set up (PostgreSQL, the full demo county, gunicorn; see docs/deployment.md):

    createdb fupin_load
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/fupin_load FUPIN_ENV=production FUPIN_HTTPS=0 \
           FUPIN_SECRET_KEY=<40+ characters> FUPIN_ALLOWED_HOSTS=127.0.0.1
    .venv/bin/python manage.py migrate && .venv/bin/python manage.py seed_demo
    .venv/bin/python manage.py serve --production --addr 127.0.0.1:8012 &
    .venv/bin/locust -f bench/locustfile.py --host http://127.0.0.1:8012 --headless -u 200 -r 10 -t 5m \
           --csv bench/out/load

Pass: zero failures, p95 ≤ 300 ms and p99 ≤ 1 s over all requests (bench/out/load_stats.csv, "Aggregated" row).
Roles and weights: grid workers search and record visits (50 %), town staff browse lists and export (25 %), leaders
open the map and the dashboards (15 %), a department handler works on orders (10 %). Only 127.0.0.1 may be targeted.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import re
import uuid
from urllib.parse import urlparse

from locust import HttpUser, between, events, task

PASSWORD = os.environ.get("FUPIN_DEMO_PASSWORD", "fupin-demo-2016")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"


@events.test_start.add_listener
def _only_loopback(environment, **_kw):
    host = urlparse(environment.host or "").hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"the load test targets only this machine (127.0.0.1), not {host!r}")


class FupinUser(HttpUser):
    abstract = True
    username = ""
    wait_time = between(1, 3)

    def on_start(self):
        page = self.client.get("/login/", name="/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        self.client.post("/login/", {"username": self.username, "password": PASSWORD,
                                     "csrfmiddlewaretoken": token.group(1) if token else ""},
                         headers={"Referer": f"{self.host}/login/"}, name="/login/ (post)")
        self.csrf = self.client.cookies.get("csrftoken", "")
        self.keys = [h["poor_code"] or h["uuid"] for h in
                     self.client.get("/api/v1/households/?limit=200", name="/api/v1/households/ (start)").json()
                     .get("items", [])]

    def household(self) -> str:
        return random.choice(self.keys) if self.keys else ""


class GridWorker(FupinUser):
    weight = 50
    username = "demo_grid_worker"

    @task(5)
    def search(self):
        self.client.get(f"/api/v1/households/?q={random.choice(SURNAMES)}", name="/api/v1/households/?q=")

    @task(3)
    def household_page(self):
        if self.keys:
            self.client.get(f"/households/{self.household()}/", name="/households/<key>/")

    @task(2)
    def record_visit(self):
        if not self.keys:
            return
        self.client.post("/api/v1/assistance/records", json={
            "uuid": str(uuid.uuid4()), "household": self.household(), "kind": "visit",
            "occurred_on": dt.date.today().isoformat(), "content": "入户走访,了解生产生活情况(压力测试)"},
            headers={"X-CSRFToken": self.csrf}, name="/api/v1/assistance/records (post)")

    @task(2)
    def inbox(self):
        self.client.get("/", name="/")


class TownStaff(FupinUser):
    weight = 25
    username = "demo_town_staff"

    @task(4)
    def household_list(self):
        self.client.get(f"/households/?page={random.randint(1, 5)}", name="/households/")

    @task(3)
    def lights(self):
        self.client.get("/assistance/lights/", name="/assistance/lights/")

    @task(1)
    def export(self):
        self.client.get("/households/export.csv", name="/households/export.csv")

    @task(2)
    def problems(self):
        self.client.get("/api/v1/quality/problems?limit=50", name="/api/v1/quality/problems")


class Leader(FupinUser):
    weight = 15
    username = "demo_city_leader"

    @task(3)
    def dashboard(self):
        self.client.get("/dashboard/", name="/dashboard/")
        self.client.get("/api/v1/dashboard/figures", name="/api/v1/dashboard/figures")

    @task(3)
    def map(self):
        self.client.get("/map/", name="/map/")
        self.client.get("/api/v1/map/households", name="/api/v1/map/households")
        self.client.get("/api/v1/map/boundaries", name="/api/v1/map/boundaries")


class DepartmentHandler(FupinUser):
    weight = 10
    username = "demo_dept_handler"

    @task(4)
    def orders(self):
        self.client.get("/api/v1/dispatch/orders?limit=50", name="/api/v1/dispatch/orders")

    @task(2)
    def orders_page(self):
        self.client.get("/dispatch/", name="/dispatch/")
