"""The same importer from the web: upload, background job with progress, the report on the job's page."""

from django.core.files.uploadedfile import SimpleUploadedFile

from fupin.core.models import Job
from fupin.registry.models import Household, Person
from fupin.registry.testdata import roster_rows, write_csv

PLACES = [("甲镇", "甲一村", "420581100201"), ("乙镇", "乙一村", "420581101201")]


def _upload(client, path, **extra):
    with open(path, "rb") as fh:
        return client.post("/households/import/", {"file": SimpleUploadedFile(path.name, fh.read()), **extra})


def test_upload_runs_the_import_as_a_job(client, users, county, tmp_path, django_capture_on_commit_callbacks):
    rows = roster_rows(PLACES, households=6, seed=5)
    path = write_csv(tmp_path / "roster.csv", rows)
    client.force_login(users["county"])
    with django_capture_on_commit_callbacks(execute=True):
        r = _upload(client, path)
    assert r.status_code == 302
    job = Job.objects.get()
    assert r["Location"] == f"/households/import/{job.uuid}/"
    job.refresh_from_db()
    assert job.status == "succeeded" and job.progress == 100 and job.result["status"] == "imported"
    assert Household.objects.count() == 6 and Person.objects.count() == len(rows)
    page = client.get(r["Location"]).content.decode()
    assert 'id="imported"' in page
    assert client.get(job.get_absolute_url()).status_code == 200


def test_refused_upload_shows_the_report(client, users, county, tmp_path, django_capture_on_commit_callbacks):
    rows = roster_rows(PLACES, households=4, seed=5)
    rows[2]["行政村"] = "没有村"
    client.force_login(users["county"])
    with django_capture_on_commit_callbacks(execute=True):
        r = _upload(client, write_csv(tmp_path / "bad.csv", rows))
    page = client.get(r["Location"]).content.decode()
    assert 'id="refused"' in page and "没有村" in page and "<td class=\"num\">4</td>" in page
    assert not Household.objects.exists()


def test_dry_run_from_the_web(client, users, county, tmp_path, django_capture_on_commit_callbacks):
    rows = roster_rows(PLACES, households=3, seed=5)
    client.force_login(users["county"])
    with django_capture_on_commit_callbacks(execute=True):
        _upload(client, write_csv(tmp_path / "r.csv", rows), dry_run="on")
    assert Job.objects.get().result["status"] == "dry_run"
    assert not Household.objects.exists()


def test_only_importers_may_upload_and_only_into_their_area(client, users, county, tmp_path,
                                                             django_capture_on_commit_callbacks):
    rows = roster_rows(PLACES, households=3, seed=5)
    client.force_login(users["village_a1"])
    assert client.get("/households/import/").status_code == 403
    client.force_login(users["town_a"])
    with django_capture_on_commit_callbacks(execute=True):
        _upload(client, write_csv(tmp_path / "r.csv", rows))
    assert Job.objects.get().result["status"] == "refused"
    assert "不在您的管辖范围内" in Job.objects.get().result["report"]
    assert not Household.objects.exists()
