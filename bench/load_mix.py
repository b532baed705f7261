"""The load test's request mix (issue 12), as data: read by bench/locustfile.py (over HTTP) and bench/request_cost.py
(in-process, to measure each request's server CPU and queries). Plain Python: no locust, no Django here.

Each role: the demo account it signs in as, its share of the users, and its actions (weight, requests). A request is
(method, path, name); "{key}" in a path is one of the user's households (poor code or uuid), "{surname}" a surname,
"{page}" a page number 1–5. A POST's body is made by the caller (the only one: a grid worker records a visit).
"""

from __future__ import annotations

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"

# Think time between two actions of one user, in seconds (uniform). Assumed, not measured from real use: a grid
# worker reads a household page or fills in a visit for a while, a town clerk scans a list page, a leader looks at a
# dashboard; 5–15 s is a brisk pace for such pages. `--think 1-3` is the stress pace of the first run (issue 12).
THINK_DEFAULT = (5.0, 15.0)

ROLES: dict[str, dict] = {
    "grid_worker": {
        "username": "demo_grid_worker", "weight": 50,
        "actions": [
            (5, [("GET", "/api/v1/households/?q={surname}", "/api/v1/households/?q=")]),
            (3, [("GET", "/households/{key}/", "/households/<key>/")]),
            (2, [("POST", "/api/v1/assistance/records", "/api/v1/assistance/records (post)")]),
            (2, [("GET", "/", "/")]),
        ],
    },
    "town_staff": {
        "username": "demo_town_staff", "weight": 25,
        "actions": [
            (4, [("GET", "/households/?page={page}", "/households/")]),
            (3, [("GET", "/assistance/lights/", "/assistance/lights/")]),
            (1, [("GET", "/households/export.csv", "/households/export.csv")]),
            (2, [("GET", "/api/v1/quality/problems?limit=50", "/api/v1/quality/problems")]),
        ],
    },
    "leader": {
        "username": "demo_city_leader", "weight": 15,
        "actions": [
            (3, [("GET", "/dashboard/", "/dashboard/"),
                 ("GET", "/api/v1/dashboard/figures", "/api/v1/dashboard/figures")]),
            (3, [("GET", "/map/", "/map/"), ("GET", "/api/v1/map/households", "/api/v1/map/households"),
                 ("GET", "/api/v1/map/boundaries", "/api/v1/map/boundaries")]),
        ],
    },
    "department_handler": {
        "username": "demo_dept_handler", "weight": 10,
        "actions": [
            (4, [("GET", "/api/v1/dispatch/orders?limit=50", "/api/v1/dispatch/orders")]),
            (2, [("GET", "/dispatch/", "/dispatch/")]),
        ],
    },
}

# Once per session (locust on_start), reported apart from the steady state.
SESSION_START = [("GET", "/login/", "sign-in: /login/ (get)"), ("POST", "/login/", "sign-in: /login/ (post)"),
                 ("GET", "/api/v1/households/?limit=200", "sign-in: /api/v1/households/?limit=200")]


def visit_body(key: str, day: str, uuid: str) -> dict:
    return {"uuid": uuid, "household": key, "kind": "visit", "occurred_on": day,
            "content": "入户走访,了解生产生活情况(压力测试)"}
