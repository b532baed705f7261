"""Masked (脱敏) IDs in the linkage, the model kept with each run, and each probabilistic link's explanation."""

import json

import pytest

from fupin.exchange.engine import LinkSettings
from fupin.exchange.linkage import linkage_run, visible_id_parts
from fupin.exchange.models import LinkReview, LinkRun, RecordLink, StagedRecord
from fupin.exchange.services import import_department

from .conftest import ident, write_csv

pytestmark = pytest.mark.django_db


def _masked_area(number: str) -> str:
    return number[:6] + "*" * 8 + number[14:]


def _masked_year(number: str) -> str:
    return number[:10] + "****" + number[14:]


def _same_last_four() -> tuple[str, str]:
    a = ident("19700303", 51)
    for day in range(1, 29):
        b = ident(f"197104{day:02d}", 51)
        if b[14:] == a[14:]:
            return a, b
    raise AssertionError("no pair found")


def _links_by_seq(snap):
    out = {}
    for rec in StagedRecord.objects.filter(snapshot=snap):
        out[int(rec.raw["序号"])] = sorted(RecordLink.objects.filter(record=rec).values_list("person__id_number",
                                                                                              "method"))
    return out


def test_visible_parts_of_masked_ids():
    import pyarrow as pa

    from fupin.core import idnumber

    full = "42058119800101011" + idnumber.check_char("42058119800101011")
    raws = ["420581********123X", "4205811980****0112", full, "", "4205811980＊＊＊＊0112"]
    parsed = [idnumber.parse(r) for r in raws]
    table = pa.table({"id_kind": [p.kind for p in parsed], "id_area6": [p.area6 or "" for p in parsed],
                      "id_birth_year": [p.birth_year for p in parsed], "id_last4": [p.last4 or "" for p in parsed]})
    out = visible_id_parts(table).to_pydict()
    assert out["id_kind"] == ["masked", "masked", "full", "missing", "masked"]  # full-width stars too
    assert out["id_area6"][:2] == ["420581", "420581"] and out["id_birth_year"][:2] == [None, "1980"]
    assert out["id_last4"][:2] == ["123X", "0112"] and out["id_last4"][2] is None  # a full ID is read by the engine


def test_masked_ids_link_on_what_they_show(people, tmp_path):
    from fupin.registry.services import household_create

    ids = people["ids"]
    # two 刘洋 whose IDs show the same area and last four (born on different days): a masked ID fits both
    a, b = _same_last_four()
    for code, number in (("P005", a), ("P006", b)):
        household_create(actor="test", village=people["h3"].village, poor_code=code, is_registered_poor=True,
                         poverty_status="0", members=[{"name": "刘洋", "relationship": "户主", "id_number": number}])
    nobody = ids["li"][:14] + "9990"  # visible parts that fit nobody
    rows = [
        [1, "张伟", _masked_area(ids["zhang"]), "宜都市甲镇甲一村"],  # last four tell 张伟 from his namesake
        [2, "张伟", _masked_year(ids["zhang_twin"]), ""],
        [3, "李那", _masked_year(ids["li"]), ""],  # a homophone name, masked ID
        [4, "李娜", _masked_year(nobody), "宜都市甲镇甲二村"],  # fits nobody: links to nobody
        [5, "王明", ids["wang"], ""],  # a full valid ID: exact, whatever else
        [6, "刘洋", _masked_area(a), ""],  # fits both 刘洋 when their last four agree: never two people
    ]
    path = write_csv(tmp_path / "payroll.csv", ["序号", "姓名", "身份证号码", "住址"], rows)
    snap = import_department(actor="test", source_code="payroll", path=path)
    run = linkage_run(actor="test")
    links = _links_by_seq(snap)
    assert links[1] == [(ids["zhang"], "probabilistic")]
    assert links[2] == [(ids["zhang_twin"], "probabilistic")]
    assert links[3] == [(ids["li"], "probabilistic")]
    assert links[4] == []
    assert links[5] == [(ids["wang"], "exact_id")]
    assert links[6] == []  # never two people, never a guess between them
    assert {r.person.id_number for r in LinkReview.objects.filter(record__row_number=7)} == {a, b}
    assert not RecordLink.objects.filter(record__snapshot=snap, record__row_number=5, method="probabilistic")
    # the explanation of a masked link names what agreed and how much each weighed
    link = RecordLink.objects.get(record__snapshot=snap, record__row_number=2)
    expl = link.explanation if isinstance(link.explanation, dict) else json.loads(link.explanation)
    by_field = {f["field"]: f for f in expl["fields"]}
    assert by_field["证件号码"]["level"] == "脱敏号码:地区、后四位相符"
    assert by_field["证件号码"]["weight"] > 0 and by_field["姓名"]["level"] == "姓名相同"
    assert expl["probability"] == pytest.approx(link.score, abs=1e-5)
    assert expl["weight"] == pytest.approx(sum(f["weight"] for f in expl["fields"]) + expl["prior_weight"], abs=0.1)
    # too few records to train: the run names the model it used
    assert run.model is not None and not run.model.trained and run.model.reason == "too_small"
    assert run.stats["model"]["id"] == run.model.pk


def test_a_run_trains_its_model_and_a_small_rerun_falls_back_on_it(tmp_path, client):
    from django.core.management import call_command

    from fupin.exchange.testdata import DIVISIONS_CSV, make_county
    from fupin.exchange.tests.helpers import load_roster, truth

    out = tmp_path / "c"
    make_county(out, scale=0.003, seed=11, quirks=("dates",))  # the quirks this branch's reader reads
    t = truth(out)
    call_command("import_divisions", str(DIVISIONS_CSV), stdout=open("/dev/null", "w"))
    load_roster(out / t["roster_file"])
    for source in ("payroll", "vehicle", "business", "property", "dibao", "medical"):
        import_department(actor="test", source_code=source, path=out / t["files"][source])
    settings = LinkSettings(min_train_records=100, u_max_pairs=5e4, em_max_pairs=1e5)  # small data, quick
    run = linkage_run(actor="test", settings=settings)
    model = run.model
    assert model.trained and model.records >= 100 and model.splink.get("comparisons")
    masked = model.parameters["id"]["脱敏号码:地区、后四位相符"]
    assert 0 < masked[1] < 1e-2 < masked[0]  # trained: matches show it, random pairs almost never
    assert 0 < model.match_rate < 1
    # what the generator planted is found: masked IDs linked, nothing wrong linked
    from fupin.exchange.evaluation import linkage_quality_by_noise

    sources = {"payroll", "vehicle", "business", "property", "dibao", "medical"}
    by_noise = linkage_quality_by_noise({"links": [x for x in t["links"] if x["source"] in sources]})
    for kind in ("masked_area", "masked_year"):
        assert by_noise[kind]["expected"] >= 5 and by_noise[kind]["recall"] >= 0.9, by_noise[kind]
        assert by_noise[kind]["precision"] == 1.0
    assert by_noise["clean"]["recall"] == 1.0 and by_noise["clean"]["precision"] == 1.0
    # the trained model is shown on the exchange page
    from fupin.core.testing import make_user
    from fupin.geo.models import Division

    client.force_login(make_user("model_viewer", "city_office", division=Division.objects.get(level="county")))
    body = client.get("/exchange/").content.decode()
    assert f"关联模型 #{model.pk}" in body and "用本次" in body and "脱敏号码:地区、后四位相符" in body
    # a training rule that blocks no pair (a county without masked IDs) is skipped, the others still train
    rules = [*settings.training_rules, "l.name = r.name AND l.name = '没有这个人'"]
    skipping = linkage_run(actor="test", force=True, settings=LinkSettings(
        min_train_records=100, u_max_pairs=5e4, em_max_pairs=1e5, training_rules=rules))
    assert skipping.model.trained and skipping.model.figures["em_sessions"][rules[-1]].startswith("skipped")
    model = skipping.model
    # a rerun on one small source cannot train: it uses the stored (trained) model
    path = write_csv(tmp_path / "land.csv", ["姓名", "身份证号"], [["张三", "420581********0011"]])
    import_department(actor="test", source_code="land", path=path)
    rerun = linkage_run(actor="test", settings=LinkSettings(min_train_records=100))
    assert not rerun.model.trained and rerun.model.based_on_id == model.pk
    assert rerun.model.parameters["id"] == model.parameters["id"]
    assert LinkRun.objects.count() == 3
