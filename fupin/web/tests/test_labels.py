"""What a user reads instead of codes: audit actions, job kinds and results, choice codes and times by their Chinese
labels; each role's menu; a need's type suggested from its own words."""

import datetime as dt
from types import SimpleNamespace

import pytest
from django.utils import timezone, translation

from fupin.accounts.choices import Role
from fupin.core.appconfig import nav_entries
from fupin.core.testing import make_user
from fupin.dispatch.routing import suggest_type
from fupin.web.context import menu_shows
from fupin.web.templatetags.fupin import action_label, choice_label, job_kind, job_refused, job_summary, when

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def chinese():
    with translation.override("zh-hans"):
        yield


def test_audit_actions_read_as_noun_and_verb():
    assert action_label("dispatch.workorder.accept") == "工单 · 已受理"
    assert action_label("dispatch.workorder.resolve") == "工单 · 已办结"
    assert action_label("registry.household.update") == "户 · 修改"
    assert action_label("lifecycle.identification.town_review") == "贫困户识别 · 乡镇审核"
    assert action_label("accounts.session.start") == "登录会话 · 开始"
    unknown = action_label("registry.household.frobnicate")
    assert "frobnicate" not in unknown and unknown.endswith("其他操作")


def test_job_kinds_and_results_are_readable():
    job = SimpleNamespace(kind="exchange.import", result={"snapshot": 3, "rows": 120, "problems": 2,
                                                          "url": "/exchange/snapshots/3/"})
    assert job_kind(job) == "部门数据导入"
    assert [value for _label, value in job_summary(job)] == ["120", "2"]
    assert "snapshot" not in str(job_summary(job)) and "url" not in str(job_summary(job))
    compare = SimpleNamespace(kind="eligibility.compare",
                              result={"households": 40, "changes": {"new": 3, "cleared": 1, "updated": 0}})
    rows = dict(job_summary(compare))
    assert rows["比对户数"] == "40" and rows["比对发现"] == "新增 3,已消除 1"
    assert not any("{" in v for v in rows.values())


def test_a_refused_import_is_refused_not_succeeded():
    refused = SimpleNamespace(kind="registry.import_roster", status="succeeded",
                              result={"status": "refused", "headline": "文件被拒收", "problem_count": 4})
    assert job_refused(refused)
    assert dict(job_summary(refused))["结果"] == "文件被拒收"
    done = SimpleNamespace(kind="registry.import_roster", status="succeeded",
                           result={"status": "imported", "summary": {"rows": 10, "households": 3}})
    assert not job_refused(done)
    assert dict(job_summary(done))["摘要"].startswith("共10行")


def test_times_in_one_format_in_the_users_time_zone():
    moment = dt.datetime(2016, 3, 8, 6, 5, tzinfo=dt.UTC)
    assert when(moment) == "2016-03-08 14:05"  # Asia/Shanghai
    assert when("2016-03-08T06:05:00+00:00") == "2016-03-08 14:05"  # as audit records keep them
    assert when(dt.date(2016, 3, 8)) == "2016-03-08"
    assert when(None) == ""
    with timezone.override("UTC"):
        assert when(moment) == "2016-03-08 06:05"


def test_choice_codes_by_their_labels():
    assert choice_label("dismissed", "eligibility.Finding.status") != "dismissed"
    assert choice_label("employment", "assistance.Measure.kind") == "就业与培训"


def test_each_role_sees_its_own_menu(county):
    grid_worker = make_user("gw", Role.GRID_WORKER, grid=county["ga1"], division=county["va1"])
    handler = make_user("dh", Role.DEPT_HANDLER)
    leader = make_user("ld", Role.CITY_LEADER, division=county["county"])
    auditor = make_user("au", Role.AUDITOR, division=county["county"])

    def menu(user):
        return {e[1] for e in nav_entries() if menu_shows(user, e)}

    assert {"/households/", "/assistance/", "/inbox/", "/dispatch/minqing/", "/map/"} <= menu(grid_worker)
    assert not {"/exchange/", "/accounts/users/", "/jobs/", "/audit/"} & menu(grid_worker)
    assert "/dispatch/" in menu(handler) and "/households/" not in menu(handler) and "/map/" not in menu(handler)
    assert {"/map/", "/dashboard/", "/assessment/"} <= menu(leader) and "/exchange/" not in menu(leader)
    assert "/audit/" in menu(auditor) and "/dispatch/minqing/" not in menu(auditor)


def test_a_need_is_typed_by_its_words_before_the_households_cause():
    assert suggest_type({"title": "希望推荐就近务工", "description": "走访了解情况"}, main_cause="1") == "employment"
    assert suggest_type({"title": "其他事项", "description": ""}, main_cause="1") == "medical"  # no telling words
    assert suggest_type({"title": "希望推荐就近务工", "category": "medical"}, main_cause="7") == "medical"
