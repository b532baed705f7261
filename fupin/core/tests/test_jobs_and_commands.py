import json
import os
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import call_command

from fupin.core import extensions, nightly
from fupin.core.models import Job
from fupin.core.services import job_create, job_handler, job_run


@job_handler("test_ok")
def _ok(job, progress):
    progress(50, "half")
    return {"n": job.params["n"] * 2}


@job_handler("test_fail")
def _fail(job, progress):
    raise ValueError("坏文件")


@pytest.mark.django_db(transaction=True)
def test_job_runs_through_the_task_backend_and_records_progress():
    job = job_create(kind="test_ok", title="t", params={"n": 21})
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED
    assert job.result == {"n": 42} and job.progress == 100


@pytest.mark.django_db
def test_failed_job_keeps_its_message():
    job = Job.objects.create(kind="test_fail", title="t")
    job = job_run(job.pk)
    assert job.status == Job.Status.FAILED
    assert "坏文件" in job.message


@pytest.mark.django_db
def test_nightly_runs_registered_steps():
    calls = []

    def _step():
        calls.append(1)
        return {"ok": 1}

    with extensions.added(extensions.NightlyStep(name="test_step", fn=_step, order=999)):
        out = StringIO()
        call_command("nightly", "--only", "test_step", stdout=out)
        assert calls == [1]
        assert "test_step" in out.getvalue()
    assert "test_step" not in nightly.steps()


def test_production_settings_refuse_a_missing_secret_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FUPIN_", "DJANGO_"))}
    env.update(FUPIN_ENV="production", FUPIN_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="config.settings")
    result = subprocess.run([sys.executable, "-c", "import django; django.setup()"], env=env, capture_output=True,
                            text=True, check=False)
    assert result.returncode != 0
    assert "FUPIN_SECRET_KEY" in result.stderr
    env["FUPIN_SECRET_KEY"] = "k" * 50
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert result.returncode != 0 and "FUPIN_KEYS_FILE" in result.stderr  # nor without the encryption keys
    from fupin.core.crypto import generate_spec

    env["FUPIN_KEYS"] = json.dumps(generate_spec())
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert result.stdout.strip() == "False", result.stderr


def test_database_url_selects_the_database(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_",))}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path}/other.sqlite3", DJANGO_SETTINGS_MODULE="config.settings",
               FUPIN_DATA_DIR=str(tmp_path))
    code = "import django; django.setup(); from django.db import connection; print(connection.settings_dict['NAME'])"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert result.stdout.strip().endswith("other.sqlite3"), result.stderr
    assert json.dumps(1) == "1"
