"""Value mappings: rules read mapped values; values no mapping knows are reported as not understood (不能识别) and
leave the rule undecided, never "no match"; mappings are versioned with the rule set; the pages are scoped."""

import json

import pytest
from django.test import Client

from fupin.core.models import AuditEvent
from fupin.core.testing import make_user
from fupin.eligibility.mappings import Resolver, default_mappings, norm_value
from fupin.eligibility.models import Finding, RuleSet, ValueMapping
from fupin.exchange.tests.conftest import people, write_csv  # noqa: F401 - fixture

VEHICLE_HEADER = ["序号", "车主", "身份证明号码", "车辆类型", "机动车状态"]


# -- the resolver (pure) -------------------------------------------------------------------------------------------

def test_resolver_exact_normalised_code_and_label():
    r = Resolver({"A": "正常", "E": "注销", "存续(在营、开业、在册)": "存续"})
    assert r("A") == (True, "正常") and r(" a ") == (True, "正常") and r("Ａ") == (True, "正常")
    assert r("A-正常") == (True, "正常") and r("A 正常") == (True, "正常") and r("正常(A)") == (True, "正常")
    assert r("正常（A）") == (True, "正常")  # full-width brackets
    assert r("E:注销") == (True, "注销")
    assert r("正常") == (True, "正常")  # a value that already is a mapped value
    assert r("存续（在营、开业、在册）") == (True, "存续")
    assert r("Z-未知") == (False, "") and r("吊销") == (False, "")
    assert r("") == (True, "") and r(None) == (True, "")
    assert norm_value("ａ－正 常") == "A-正常"


def test_defaults_are_data_and_cover_the_common_codes():
    by = {(m["source"], m["field"]): Resolver(m["values"]) for m in default_mappings()}
    vehicle = by[("vehicle", "机动车状态")]
    assert vehicle("A-正常") == (True, "正常") and vehicle("E") == (True, "注销") and vehicle("报废")[1] == "报废"
    business = by[("business", "登记状态")]
    assert business("存续(在营、开业、在册)") == (True, "存续") and business("吊销,未注销") == (True, "吊销")
    assert by[("property", "房屋性质")]("市场化商品房") == (True, "商品房")
    assert by[("payroll", "人员类别")]("村(社区)干部") == (True, "村干部")


# -- the comparison ------------------------------------------------------------------------------------------------

pytestmark_db = pytest.mark.django_db


@pytest.fixture
def vehicles(people, tmp_path):  # noqa: F811
    from fupin.exchange.services import import_department

    ids = people["ids"]
    rows = [[1, "张伟", ids["zhang"], "小型轿车", "A-正常"],  # P001: a hit through the mapping
            [2, "李娜", ids["li"], "小型轿车", "E"],  # P003: 注销, no hit
            [3, "张伟", ids["zhang_twin"], "小型轿车", "Z-未知"]]  # P002: not understood
    path = write_csv(tmp_path / "vehicle.csv", VEHICLE_HEADER, rows)
    snap = import_department(actor="test", source_code="vehicle", path=path)
    return {"snap": snap, "path": path, **people}


@pytest.mark.django_db
def test_rules_read_mapped_values_and_unknown_values_are_not_understood(vehicles, tmp_path):
    from django.core.management import call_command

    snap = vehicles["snap"]
    snap.refresh_from_db()
    assert snap.not_understood == [["机动车状态", "Z-未知", 1]]  # reported at import
    assert snap.value_counts["机动车状态"] == {"A-正常": 1, "E": 1, "Z-未知": 1}
    out = tmp_path / "findings.json"
    call_command("compare", out=str(out))
    doc = json.loads(out.read_text(encoding="utf-8"))
    vehicle = {f["household"] for f in doc["findings"] if f["rule"] == "vehicle"}
    assert vehicle == {"P001"}  # A-正常 hits; E (注销) does not; Z-未知 is neither
    nu = doc["not_understood"]
    assert nu["values"] == [{"source": "vehicle", "field": "机动车状态", "value": "Z-未知", "records": 1}]
    assert nu["undecided_total"] == 1
    (u,) = nu["undecided"]
    assert (u["household"], u["rule"], u["person"], u["field"], u["value"], u["row"]) == (
        "P002", "vehicle", vehicles["ids"]["zhang_twin"], "机动车状态", "Z-未知", 4)
    # the run's stats (a plain JSON column) name the member by row; the export above puts the ID number back
    from fupin.eligibility.models import ComparisonRun

    stats = json.dumps(ComparisonRun.objects.filter(finished_at__isnull=False).first().stats, ensure_ascii=False)
    assert vehicles["ids"]["zhang_twin"] not in stats and '"person_id"' in stats
    assert not Finding.objects.filter(household_code="P002", rule_code="vehicle").exists()


@pytest.mark.django_db
def test_a_mapping_edited_in_a_draft_applies_once_released(vehicles):
    from fupin.eligibility import services

    services.compare_run(actor="test")
    v1 = RuleSet.objects.get(status="released")
    assert v1.value_mappings.count() == len(default_mappings())
    county = make_user("county_office", "city_office")
    draft = services.ruleset_draft_for_edit(actor=county)
    vm = draft.value_mappings.get(source_code="vehicle", field="机动车状态")
    services.value_mapping_save(actor=county, rule_set=draft, source_code="vehicle", field="机动车状态",
                                values={**vm.values, "Z-未知": "正常"})
    assert "Z-未知" not in v1.value_mappings.get(source_code="vehicle", field="机动车状态").values  # unchanged
    with pytest.raises(Exception, match="已发布的规则集不能修改"):
        services.value_mapping_save(actor=county, rule_set=v1, source_code="vehicle", field="机动车状态", values={})
    assert AuditEvent.objects.filter(action="eligibility.value_mapping.save").count() == 1
    services.compare_run(actor="test")
    assert not Finding.objects.filter(household_code="P002", rule_code="vehicle").exists()  # draft not in force
    services.ruleset_release(actor=county, rule_set=draft)
    run = services.compare_run(actor="test")
    assert Finding.objects.filter(household_code="P002", rule_code="vehicle", status="open").exists()
    assert run.stats["not_understood"]["values"] == []
    vehicles["snap"].refresh_from_db()
    assert vehicles["snap"].not_understood == []
    assert ValueMapping.objects.filter(rule_set=v1).count() == ValueMapping.objects.filter(rule_set=draft).count()


@pytest.mark.django_db
def test_bad_mappings_are_refused(people):  # noqa: F811
    from fupin.core.errors import ServiceError
    from fupin.eligibility import services

    draft = services.ruleset_draft_for_edit(actor="test")
    with pytest.raises(ServiceError, match="没有字段"):
        services.value_mapping_save(actor="test", rule_set=draft, source_code="vehicle", field="颜色", values={"a": "b"})
    with pytest.raises(ServiceError, match="不能设置取值对应"):
        services.value_mapping_save(actor="test", rule_set=draft, source_code="vehicle", field="身份证明号码",
                                    values={"a": "b"})
    with pytest.raises(ServiceError, match="重复"):
        services.value_mapping_save(actor="test", rule_set=draft, source_code="vehicle", field="机动车状态",
                                    values={"A": "正常", "ａ": "注销"})


# -- the pages and who sees them -----------------------------------------------------------------------------------

def _client(user):
    c = Client()
    c.force_login(user)
    return c


@pytest.mark.django_db
def test_mapping_pages_are_scoped(vehicles):
    from fupin.exchange.models import Source

    county = vehicles["h1"].village.parent.parent
    gongan = Source.objects.get(code="vehicle").department
    gongshang = Source.objects.get(code="business").department
    office = _client(make_user("office", "city_office", division=county))
    police = _client(make_user("police", "dept_handler", division=county, department=gongan))
    trade = _client(make_user("trade", "dept_handler", division=county, department=gongshang))
    town = _client(make_user("town", "town_staff", division=vehicles["h1"].village.parent))
    grid = _client(make_user("gridw", "grid_worker", grid=vehicles["h1"].grid))

    page = office.get("/comparison/mappings/")
    assert page.status_code == 200 and "市场主体登记" in page.content.decode() and "机动车登记" in page.content.decode()
    page = police.get("/comparison/mappings/")
    body = page.content.decode()
    assert page.status_code == 200 and "机动车登记" in body and "市场主体登记" not in body
    detail = police.get("/comparison/mappings/vehicle/").content.decode()
    assert "Z-未知" in detail and "不能识别" in detail and "A-正常" in detail
    assert police.get("/comparison/mappings/business/").status_code == 404
    assert trade.get("/comparison/mappings/vehicle/").status_code == 404
    assert town.get("/comparison/mappings/").status_code == 403
    assert town.get("/comparison/mappings/vehicle/").status_code == 404
    assert grid.get("/comparison/mappings/").status_code == 403
    snap = vehicles["snap"]
    assert office.get(f"/comparison/mappings/vehicle/?snapshot={snap.pk}").status_code == 200
    assert office.get("/comparison/mappings/business/?snapshot=" + str(snap.pk)).status_code == 404

    post = {"field": "机动车状态", "raw": ["A", "Z-未知"], "mapped": ["正常", "正常"], "snapshot": str(snap.pk)}
    assert trade.post("/comparison/mappings/vehicle/", post).status_code == 404
    assert town.post("/comparison/mappings/vehicle/", post).status_code == 404
    assert not RuleSet.objects.filter(status="draft").exists()
    resp = police.post("/comparison/mappings/vehicle/", post)
    assert resp.status_code == 302
    draft = RuleSet.objects.get(status="draft")
    assert draft.value_mappings.get(source_code="vehicle", field="机动车状态").values == {"A": "正常",
                                                                                          "Z-未知": "正常"}
    log = AuditEvent.objects.get(action="eligibility.value_mapping.save")
    assert log.actor.username == "police" and log.after["values"]["Z-未知"] == "正常"
    # emptied: the field is no longer mapped in the draft
    police.post("/comparison/mappings/vehicle/", {"field": "机动车状态", "raw": ["A"], "mapped": [""]})
    assert not draft.value_mappings.filter(source_code="vehicle", field="机动车状态").exists()
