"""Job pages: a user sees only their own jobs (a superuser all); the progress partial polls until the job ends."""

import pytest

from fupin.accounts.models import User
from fupin.core.models import Job
from fupin.core.testing import make_user


def _job(actor, **kw):
    return Job.objects.create(kind="test", title=kw.pop("title", "导入户籍数据"), actor=actor, **kw)


@pytest.mark.django_db
def test_job_list_shows_own_jobs(client, county):
    me = make_user("me", "town_staff", division=county["town_a"])
    other = make_user("other", "town_staff", division=county["town_a"])
    _job(me, title="我的任务")
    _job(other, title="别人的任务")
    client.force_login(me)
    body = client.get("/jobs/").content.decode()
    assert "我的任务" in body and "别人的任务" not in body
    client.force_login(User.objects.create_superuser("root", password="pw-test-12345"))
    body = client.get("/jobs/").content.decode()
    assert "我的任务" in body and "别人的任务" in body


@pytest.mark.django_db
def test_job_detail_is_private(client, county):
    me = make_user("me", "town_staff", division=county["town_a"])
    job = _job(make_user("other", "town_staff", division=county["town_a"]))
    client.force_login(me)
    assert client.get(f"/jobs/{job.uuid}/").status_code == 404
    assert client.get(f"/jobs/{job.uuid}/progress/", HTTP_HX_REQUEST="true").status_code == 404


@pytest.mark.django_db
def test_progress_partial_polls_while_running_and_stops_when_done(client, county):
    me = make_user("me", "town_staff", division=county["town_a"])
    job = _job(me, status=Job.Status.RUNNING, progress=40, message="已读取4000行")
    client.force_login(me)
    page = client.get(f"/jobs/{job.uuid}/").content.decode()
    assert 'hx-trigger="every 1s"' in page and "40%" in page and "已读取4000行" in page
    partial = client.get(f"/jobs/{job.uuid}/progress/", HTTP_HX_REQUEST="true").content.decode()
    assert partial.lstrip().startswith('<div id="job-progress"') and "<html" not in partial
    assert 'hx-trigger="every 1s"' in partial
    Job.objects.filter(pk=job.pk).update(status=Job.Status.SUCCEEDED, progress=100,
                                         result={"rows": 12000, "url": "/files/exports/x.xlsx"})
    partial = client.get(f"/jobs/{job.uuid}/progress/", HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in partial
    assert "12000" in partial and 'href="/files/exports/x.xlsx"' in partial and "成功" in partial


@pytest.mark.django_db
def test_failed_job_shows_its_message(client, county):
    me = make_user("me", "town_staff", division=county["town_a"])
    job = _job(me, status=Job.Status.FAILED, message="第3行「身份证号」列:校验位错误", result={"error": "x"})
    client.force_login(me)
    body = client.get(f"/jobs/{job.uuid}/").content.decode()
    assert "任务失败" in body and "第3行「身份证号」列:校验位错误" in body and 'hx-trigger="every 1s"' not in body


@pytest.mark.django_db
def test_job_list_query_budget(client, county, django_assert_max_num_queries):
    me = make_user("me", "town_staff", division=county["town_a"])
    for i in range(30):
        _job(me, title=f"任务{i}")
    client.force_login(me)
    with django_assert_max_num_queries(10):
        assert client.get("/jobs/").status_code == 200
