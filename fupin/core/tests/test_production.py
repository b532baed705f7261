"""Production settings pass `check --deploy` and send HSTS over HTTPS; the background worker is restarted when it
dies (it used to die on "database is locked" and leave later jobs queued)."""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fupin.core.crypto import generate_spec
from fupin.core.management.commands.serve import WorkerSupervisor

ROOT = Path(__file__).resolve().parents[3]
PROD_ENV = {"FUPIN_ENV": "production", "FUPIN_SECRET_KEY": "prod-test-" + "k7Q!x" * 10,
            "FUPIN_ALLOWED_HOSTS": "fupin.example.gov.cn", "DJANGO_SETTINGS_MODULE": "config.settings",
            "FUPIN_KEYS": json.dumps(generate_spec())}


def _prod_env() -> dict:
    # (the browser tests set DJANGO_ALLOW_ASYNC_UNSAFE in this process; a deployment never has it)
    return {k: v for k, v in os.environ.items()
            if not k.startswith("FUPIN_") and k != "DJANGO_ALLOW_ASYNC_UNSAFE"} | PROD_ENV


def _prod(code: str) -> subprocess.CompletedProcess:
    env = _prod_env()
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_check_deploy_is_clean_in_production_settings():
    env = _prod_env()
    r = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT,
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "no issues" in r.stdout


def test_production_over_https_sends_hsts():
    r = _prod("import django; django.setup()\n"
              "from django.test import Client\n"
              "resp = Client().get('/login/', secure=True, HTTP_HOST='fupin.example.gov.cn')\n"
              "print(resp.status_code, resp.headers.get('Strict-Transport-Security'))\n"
              "resp = Client().get('/login/', HTTP_HOST='fupin.example.gov.cn')\n"
              "print(resp.status_code, resp.headers.get('Location'))")
    assert r.returncode == 0, r.stderr
    first, second = r.stdout.strip().splitlines()
    assert first.startswith("200 max-age=31536000") and "includeSubDomains" in first
    assert second == "301 https://fupin.example.gov.cn/login/"


def test_worker_supervisor_restarts_a_dead_worker():
    lines: list[str] = []
    sup = WorkerSupervisor(lines.append, cmd=[sys.executable, "-c", "raise SystemExit(3)"], pause=0.1)
    sup.start()
    try:
        deadline = time.monotonic() + 20
        while sup.restarts < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        sup.stop()
    assert sup.restarts >= 2
    assert any("重新启动" in line for line in lines)


@pytest.mark.django_db(transaction=True)
def test_a_job_left_running_by_a_dead_worker_is_picked_up_again(request):
    from django.core.management import call_command

    from fupin.core import extensions
    from fupin.core.models import Job
    from fupin.core.services import MAX_JOB_ATTEMPTS

    calls = []

    def _handler(job, progress):
        calls.append(job.pk)
        return {"ok": True}

    handler = extensions.JobHandler(kind="test.crash_recovery", fn=_handler)
    extensions.register(handler)
    request.addfinalizer(lambda: extensions.unregister(handler))
    interrupted = Job.objects.create(kind="test.crash_recovery", title="t", status=Job.Status.RUNNING)
    hopeless = Job.objects.create(kind="test.crash_recovery", title="t", status=Job.Status.RUNNING,
                                  params={"_attempts": MAX_JOB_ATTEMPTS})
    call_command("recover_jobs")
    interrupted.refresh_from_db()
    hopeless.refresh_from_db()
    assert interrupted.status == Job.Status.SUCCEEDED and calls == [interrupted.pk]  # queued again and run
    assert interrupted.params["_attempts"] == 2
    from fupin.core.i18n import is_stored, shown

    # the message is stored by id (fupin.core.i18n) and shown in the reader's language
    assert hopeless.status == Job.Status.FAILED and is_stored(hopeless.message)
    assert "中断" in shown(hopeless.message, "zh-hans")


def test_sigterm_to_serve_stops_gunicorn_and_the_worker(tmp_path):
    """A service manager's SIGTERM used to end `serve` alone, leaving gunicorn and the background worker running."""
    import signal
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = _prod_env() | {"FUPIN_ALLOWED_HOSTS": "127.0.0.1", "FUPIN_DATA_DIR": str(tmp_path),
                         "DATABASE_URL": f"sqlite:///{tmp_path}/serve.sqlite3"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=300)
    proc = subprocess.Popen([sys.executable, "manage.py", "serve", "--production", "--workers", "1",
                             "--addr", f"127.0.0.1:{port}"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)

    def children() -> list[int]:
        out = subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True, text=True).stdout.split()
        return [int(p) for p in out if int(p) != proc.pid]

    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # the worker and gunicorn's master and worker
            if len(children()) >= 3:
                break
            time.sleep(0.5)
        assert len(children()) >= 3, "serve did not start gunicorn and the worker"
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        deadline = time.monotonic() + 30
        while children() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert children() == []
    finally:
        for pid in [proc.pid, *children()]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_production_static_files_are_hashed_compressed_and_cached_for_long(tmp_path):
    """collectstatic writes hashed names with gzip copies; pages name them, whitenoise serves them cached for a
    year. Without collectstatic (an empty static folder) a page still renders, naming the plain files."""
    env = _prod_env() | {"FUPIN_DATA_DIR": str(tmp_path / "collected")}
    r = subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    page = ("import django, re; django.setup()\n"
            "from django.test import Client\n"
            "c = Client(HTTP_HOST='fupin.example.gov.cn')\n"
            "resp = c.get('/login/', secure=True)\n"
            "css = re.findall(r'/static/css/fupin[^\"]*[.]css', resp.content.decode())[0]\n"
            "asset = c.get(css, secure=True, HTTP_ACCEPT_ENCODING='gzip')\n"
            "print(resp.status_code, css, asset.status_code, asset.headers.get('Cache-Control'),"
            " asset.headers.get('Content-Encoding'), sep='|')")
    for folder, hashed in (("collected", True), ("empty", False)):
        r = subprocess.run([sys.executable, "-c", page], cwd=ROOT, env=env | {"FUPIN_DATA_DIR": str(tmp_path / folder)},
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        status, css, asset_status, cache, encoding = r.stdout.strip().splitlines()[-1].split("|")
        assert status == "200"
        if hashed:
            assert re.fullmatch(r"/static/css/fupin\.[0-9a-f]{12}\.css", css)
            assert asset_status == "200" and "immutable" in cache and encoding == "gzip"
        else:
            assert css == "/static/css/fupin.css" and asset_status == "404"
