import pytest

from fupin.exchange.linkage import linkage_run
from fupin.exchange.models import LinkReview, RecordLink, StagedRecord
from fupin.exchange.services import import_department, review_decide

from .conftest import ident, write_csv

pytestmark = pytest.mark.django_db


def _typo(number: str, pos: int = 9) -> str:
    d = list(number)
    d[pos] = "7" if d[pos] != "7" else "8"
    return "".join(d)


def _links(snap):
    out = {}
    for rec in StagedRecord.objects.filter(snapshot=snap).order_by("row_number"):
        out[int(rec.raw["序号"])] = sorted(RecordLink.objects.filter(record=rec).values_list("person__id_number",
                                                                                              "method"))
    return out


@pytest.fixture
def dibao(people, tmp_path):
    ids = people["ids"]
    rows = [
        [1, "张伟", _typo(ids["zhang"]), "", "宜都市甲镇甲一村"],  # typo → 张伟 of 甲一村
        [2, "张伟", "4.20581198001010E+17", "", "宜都市乙镇乙一村"],  # Excel-truncated: twins share 15 digits
        [3, "李娜", "", "1975-05-05", "宜都市甲镇甲二村"],  # missing ID
        [4, "张伟", ident("19800101", 15), "", "宜都市甲镇甲一村"],  # valid ID of nobody in the registry
        [5, "张伟", "", "1980-01-01", ""],  # namesakes: cannot be told apart → review
        [6, "李那", _typo(ids["li"], 12), "", ""],  # homophone name and a typo
        [7, "张伟", ids["zhang"], "", ""],
        [8, "张伟", ids["zhang_twin"], "", ""],
        [9, "王明", ids["wang"][:6] + ids["wang"][8:17], "", ""],  # 15-digit legacy number
    ]
    path = write_csv(tmp_path / "dibao.csv", ["序号", "姓名", "身份证号", "出生日期", "住址"], rows)
    return import_department(actor="test", source_code="dibao", path=path), path


def test_linkage_resolves_noise_and_never_merges_valid_ids(people, dibao):
    snap, _ = dibao
    ids = people["ids"]
    run = linkage_run(actor="test")
    assert run is not None
    links = _links(snap)
    assert links[1] == [(ids["zhang"], "probabilistic")]
    assert links[2] == [(ids["zhang_twin"], "probabilistic")]
    assert links[3] == [(ids["li"], "probabilistic")]
    assert links[4] == []
    assert links[5] == []
    assert links[6] == [(ids["li"], "probabilistic")]
    assert links[7] == [(ids["zhang"], "exact_id")]
    assert links[8] == [(ids["zhang_twin"], "exact_id")]
    assert links[9] == [(ids["wang"], "legacy_id")]
    reviews = LinkReview.objects.filter(status="open")
    assert {r.person.id_number for r in reviews} == {ids["zhang"], ids["zhang_twin"]}
    assert all(r.record.row_number == 6 for r in reviews)  # 序号 5 is on the 6th line
    # nothing stale: a second run does nothing
    assert linkage_run(actor="test") is None


def test_review_decision_is_remembered_across_reloads(people, dibao, tmp_path):
    snap, path = dibao
    ids = people["ids"]
    linkage_run(actor="test")
    review = LinkReview.objects.get(status="open", person__id_number=ids["zhang"])
    review_decide(actor="test", review=review, decision="match", note="入户核实")
    assert _links(snap)[5] == [(ids["zhang"], "reviewed")]
    assert LinkReview.objects.get(person__id_number=ids["zhang_twin"]).status == "non_match"
    snap2 = import_department(actor="test", source_code="dibao", path=path)
    linkage_run(actor="test")
    assert _links(snap2)[5] == [(ids["zhang"], "reviewed")]
    assert not LinkReview.objects.filter(status="open").exists()


def test_rerun_relinks_only_the_reloaded_source(people, dibao, tmp_path):
    linkage_run(actor="test")
    path = write_csv(tmp_path / "land.csv", ["姓名", "身份证号"], [["李娜", people["ids"]["li"]]])
    import_department(actor="test", source_code="land", path=path)
    run = linkage_run(actor="test")
    assert run.stats["snapshots"] == ["land"] and run.stats["records"] == 1
