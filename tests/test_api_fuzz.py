"""Schemathesis over /api/v1/openapi.json as a county user and a village user: zero 5xx, zero schema violations.

Bounded for CI: a fixed seed, a few examples per operation and generation mode. The API runs in-process through the
WSGI application against the test database (a small county, a few households), with the session cookie and CSRF token
of a logged-in user.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from schemathesis import checks
from schemathesis.generation import GenerationMode

# Undocumented 4xx codes (404 for an unknown key, 403 for a role) are not failures; 5xx, a response that breaks its own
# schema and a request breaking the schema that is accepted are.
CHECKS = [checks.not_a_server_error, checks.response_schema_conformance, checks.negative_data_rejection]
ONLY = os.environ.get("FUPIN_FUZZ_ONLY", "")  # an operation label substring, to look at one operation
EXAMPLES = int(os.environ.get("FUPIN_FUZZ_EXAMPLES", "4"))


def _schema():
    from django.core.wsgi import get_wsgi_application

    from fupin.api.api import api

    schema = schemathesis.openapi.from_dict(api.get_openapi_schema(path_prefix="/api/v1/"))
    schema.app = get_wsgi_application()
    return schema


def _session_auth(client, user) -> dict:
    from django.middleware.csrf import _get_new_csrf_string

    client.force_login(user)
    token = _get_new_csrf_string()
    # identity: the in-process transport does not undo a gzip Content-Encoding (the phone's sync answer is gzipped
    # when the client accepts it)
    return {"headers": {"X-CSRFToken": token, "Accept-Encoding": "identity"},
            "cookies": {"sessionid": client.cookies["sessionid"].value, "csrftoken": token}}


@pytest.fixture
def in_process_requests():
    """As Django's test client does: the WSGI app must not close the test's database connection between requests
    (on PostgreSQL that would end the test transaction)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_world(db, county, in_process_requests):
    from fupin.core.testing import make_household, make_user

    for v in ("va1", "va2", "vb1"):
        make_household(county[v], head=f"{v}户主")
    return {
        "county": make_user("fz-county", "city_office", division=county["county"]),
        "village": make_user("fz-village", "village_team", division=county["va1"]),
    }


def _fuzz(schema, auth, mode) -> list[str]:
    failures: list[str] = []
    for result in schema.get_all_operations():
        op = result.ok()
        if ONLY and ONLY not in op.label:
            continue
        strategy = op.as_strategy(generation_mode=mode)

        @seed(20261203)
        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=strategy)
        def run(case):
            case.cookies = {**(case.cookies or {}), **auth["cookies"]}
            response = case.call(headers=auth["headers"])
            try:
                case.validate_response(response, headers=auth["headers"], checks=CHECKS)
            except BaseExceptionGroup as exc:  # collected, reported together below
                titles = "; ".join(sorted({f"{getattr(e, 'title', type(e).__name__)} {str(e)[:300]}"
                                           for e in exc.exceptions}))
                failures.append(f"{case.operation.label} [{mode.value}] {response.status_code} {titles}: "
                                f"{case.as_curl_command()[:300]} :: {response.text[:200]!r}")

        run()
    return failures


@pytest.mark.parametrize(("who", "mode"), [("county", GenerationMode.POSITIVE), ("village", GenerationMode.POSITIVE),
                                           ("county", GenerationMode.NEGATIVE)],
                         ids=["county-positive", "village-positive", "county-negative"])
def test_openapi_fuzz(fuzz_world, client, who, mode):
    failures = _fuzz(_schema(), _session_auth(client, fuzz_world[who]), mode)
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:40])
