"""Roster import: real files are accepted, damaged ones refused with a report, suspect values imported and listed."""

import csv
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from fupin.core.errors import ImportRefused
from fupin.core.fields import blind_q
from fupin.core.models import AuditEvent, Batch
from fupin.core.testing import make_division
from fupin.registry.importer import import_roster
from fupin.registry.models import Household, ImportProblem, Person
from fupin.registry.testdata import NATIONAL_HEADERS, roster_rows, write_csv, write_xlsx

PLACES = [("甲镇", "甲一村", "420581100201"), ("甲镇", "甲二村", "420581100202"), ("乙镇", "乙一村", "420581101201")]


@pytest.fixture
def rows(county):
    return roster_rows(PLACES, households=12, seed=7)


def _counts():
    return Household.objects.count(), Person.objects.count()


def test_clean_national_file_imports_and_stats_match(tmp_path, rows):
    path = write_csv(tmp_path / "roster.csv", rows, headers=NATIONAL_HEADERS)
    result = import_roster(actor="t", path=path)
    assert (result.households_created, result.persons_created) == (12, len(rows))
    assert result.problems == []
    assert _counts() == (12, len(rows))
    hh = Household.objects.get(poor_code=rows[0]["户编号"])
    assert hh.is_registered_poor and hh.village.code == "420581100201" and hh.batch_id == result.batch_id
    assert hh.head_name == rows[0]["姓名"] and hh.size == int(rows[0]["家庭人口数"])
    head = Person.objects.get(id_number=rows[0]["证件号码"])
    assert head.relationship == "户主" and head.ethnicity in ("01", "15") and head.batch_id == result.batch_id
    # one batch, one audit event
    assert Batch.objects.filter(kind="registry.import_roster").count() == 1
    assert AuditEvent.objects.filter(action="batch.registry.import_roster").count() == 1
    # `fupin stats --json` counts what the file holds
    from fupin.core.stats import collect

    stats = collect()
    by_status: dict[str, int] = {}
    labels = {"未脱贫": "0", "预脱贫": "2", "已脱贫(享受政策)": "1", "已脱贫(不再享受政策)": "4", "返贫": "3"}
    for code in {r["户编号"]: labels[r["脱贫状态"]] for r in rows}.values():
        by_status[code] = by_status.get(code, 0) + 1
    assert stats["poor_households_by_status"] == by_status


def test_stats_command_json(tmp_path, rows):
    import_roster(actor="t", path=write_csv(tmp_path / "r.csv", rows))
    out = io.StringIO()
    call_command("stats", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert sum(data["poor_households_by_status"].values()) == 12
    assert data["poor_villages"] == 0


def test_real_world_xlsx_title_row_merged_cells_and_messy_ids(tmp_path, rows):
    rows[0]["证件号码"] = " ".join([rows[0]["证件号码"][:6], rows[0]["证件号码"][6:]])  # a space inside
    rows[1]["证件号码"] = rows[1]["证件号码"].translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    x_row = next(r for r in rows[2:] if r["证件号码"].endswith("X"))
    x_row["证件号码"] = x_row["证件号码"].lower()
    legacy = "420581491231002"  # 15 digits: 42058119491231002 + a computed check character
    rows[3]["证件号码"] = legacy
    path = write_xlsx(tmp_path / "roster.xlsx", rows, title="宜都市建档立卡贫困人口花名册(2016年)", merge=True)
    result = import_roster(actor="t", path=path)
    assert result.persons_created == len(rows)
    assert [p for p in result.problems if p.kind == "id_number"] == []
    assert Person.objects.filter(id_valid=True).count() == len(rows)
    assert any(n.startswith("42058119491231002") for n in Person.objects.values_list("id_number", flat=True))
    assert Person.objects.filter(id_number=x_row["证件号码"].upper()).exists()
    # merged household cells reached every member row
    for hh in Household.objects.all():
        assert hh.size == Person.objects.filter(household=hh).count()
        assert hh.attribute and hh.poverty_status


def test_gbk_csv_with_title_line_and_towns_by_code(tmp_path, rows):
    for r in rows:
        r["乡镇"] = {"甲镇": "420581100", "乙镇": "420581101000"}[r["乡镇"]]
    path = write_csv(tmp_path / "roster.csv", rows, encoding="gbk", title="花名册")
    result = import_roster(actor="t", path=path)
    assert result.persons_created == len(rows) and not result.problems


def test_villages_by_code_without_town_column(tmp_path, rows):
    codes = {name: code for _, name, code in PLACES}
    for r in rows:
        r["行政村"] = codes[r["行政村"]]
    headers = [h for h in NATIONAL_HEADERS if h != "乡镇"]
    result = import_roster(actor="t", path=write_csv(tmp_path / "r.csv", rows, headers=headers))
    assert result.households_created == 12


def test_structural_errors_refuse_the_whole_file(tmp_path, rows):
    rows[1]["户编号"] = ""
    rows[4]["姓名"] = ""
    rows[6]["行政村"] = "不存在村"
    rows[8]["乡镇"] = "丙镇"
    path = write_csv(tmp_path / "bad.csv", rows)
    with pytest.raises(ImportRefused) as exc:
        import_roster(actor="t", path=path)
    report = exc.value.report()
    # Excel row numbers: header on row 1, data from row 2
    assert "第3行「户编号」列:户编号为空" in report
    assert "第6行「姓名」列:姓名为空" in report
    assert f"第8行「行政村」列值「不存在村」:{rows[6]['乡镇']}没有这个村" in report
    assert "第10行「乡镇」列值「丙镇」:乡镇不存在" in report
    assert "数据库未作任何改动" in report
    assert _counts() == (0, 0)
    assert not Batch.objects.exists() and not AuditEvent.objects.exists()


def test_missing_required_column_refuses(tmp_path, rows):
    headers = [h for h in NATIONAL_HEADERS if h != "证件号码"]
    with pytest.raises(ImportRefused) as exc:
        import_roster(actor="t", path=write_csv(tmp_path / "r.csv", rows, headers=headers))
    assert "必需的列" in exc.value.report()
    assert _counts() == (0, 0)


def test_ambiguous_village_name_needs_the_town(tmp_path, county, rows):
    make_division("420581101202", "甲一村", "village", county["town_b"])
    headers = [h for h in NATIONAL_HEADERS if h != "乡镇"]
    with pytest.raises(ImportRefused) as exc:
        import_roster(actor="t", path=write_csv(tmp_path / "r.csv", rows, headers=headers))
    assert "村名在多个乡镇中重复" in exc.value.report()
    # with the town column it is fine
    assert import_roster(actor="t", path=write_csv(tmp_path / "r2.csv", rows)).households_created == 12


def test_command_refuses_with_non_zero_exit_and_chinese_report(tmp_path, rows):
    rows[2]["姓名"] = ""
    path = write_csv(tmp_path / "bad.csv", rows)
    with pytest.raises(CommandError) as exc:
        call_command("import_roster", str(path))
    assert exc.value.returncode == 2
    assert "第4行「姓名」列:姓名为空" in str(exc.value)
    assert _counts() == (0, 0)


def test_command_imports(tmp_path, rows):
    out = io.StringIO()
    call_command("import_roster", str(write_csv(tmp_path / "r.csv", rows)), stdout=out)
    assert "导入完成" in out.getvalue() and "新增12户" in out.getvalue()


def test_suspect_values_are_imported_verbatim_and_listed(tmp_path, rows):
    good = rows[1]["证件号码"]
    rows[1]["证件号码"] = good[:-1] + ("0" if good[-1] != "0" else "1")  # fails its check digit
    rows[2]["贫困户属性"] = "边缘户"  # not on the list
    rows[3]["民族"] = "穿青人"
    rows[4]["证件号码"] = ""
    for r in rows:
        if r["户编号"] == rows[5]["户编号"]:
            r["家庭人口数"] = "9"
    path = write_csv(tmp_path / "r.csv", rows)
    result = import_roster(actor="t", path=path)
    assert result.persons_created == len(rows)
    bad = Person.objects.get(blind_q(Person, "id_number", rows[1]["证件号码"]))
    assert not bad.id_valid and bad.id_number == rows[1]["证件号码"]
    assert Person.objects.get(blind_q(Person, "id_number", rows[3]["证件号码"]), name=rows[3]["姓名"]).ethnicity == "穿青人"
    problems = ImportProblem.objects.filter(batch_id=result.batch_id)
    kinds = {(p.row, p.kind) for p in problems}
    assert (3, "id_number") in kinds and (5, "code") in kinds and (6, "id_number") in kinds
    assert any(p.kind == "size" for p in problems)
    check = problems.get(row=3, kind="id_number")
    assert "校验位" in check.problem and check.value == rows[1]["证件号码"]
    assert check.household.poor_code == rows[1]["户编号"] and check.area_code.startswith("420581")
    if rows[2]["与户主关系"] == "户主" or rows[2]["户编号"] != rows[1]["户编号"]:
        assert Household.objects.get(poor_code=rows[2]["户编号"]).attribute in ("边缘户", "1", "2", "3")


def test_person_in_two_households_is_kept_and_reported(tmp_path, rows):
    first_hh = [r for r in rows if r["户编号"] == rows[0]["户编号"]]
    other = next(r for r in rows if r["户编号"] != rows[0]["户编号"] and r["与户主关系"] != "户主")
    other["证件号码"] = first_hh[0]["证件号码"]
    result = import_roster(actor="t", path=write_csv(tmp_path / "r.csv", rows))
    assert Person.objects.filter(id_number=first_hh[0]["证件号码"]).count() == 2
    dups = ImportProblem.objects.filter(batch_id=result.batch_id, kind="duplicate_person")
    assert dups.count() == 2
    assert all(d.value == first_hh[0]["证件号码"] and d.person_id for d in dups)
    assert "另见户编号" in dups[0].problem
    # re-import: still two, still reported, nothing merged or dropped
    again = import_roster(actor="t", path=write_csv(tmp_path / "r2.csv", rows))
    assert Person.objects.filter(id_number=first_hh[0]["证件号码"]).count() == 2
    assert ImportProblem.objects.filter(batch_id=again.batch_id, kind="duplicate_person").count() == 2


def test_person_already_registered_elsewhere_is_reported(tmp_path, rows, hh_b1):
    existing = Person.objects.filter(household=hh_b1).first()
    rows[1]["证件号码"] = existing.id_number
    result = import_roster(actor="t", path=write_csv(tmp_path / "r.csv", rows))
    dup = ImportProblem.objects.get(batch_id=result.batch_id, kind="duplicate_person")
    assert dup.row == 3 and hh_b1.poor_code in dup.problem
    assert Person.objects.filter(id_number=existing.id_number).count() == 2


def test_dry_run_writes_nothing(tmp_path, rows):
    rows[1]["民族"] = "火星族"
    result = import_roster(actor="t", path=write_csv(tmp_path / "r.csv", rows), dry_run=True)
    assert result.dry_run and result.households_created == 12 and len(result.problems) == 1
    assert "试导入" in result.report()
    assert _counts() == (0, 0)
    assert not Batch.objects.exists() and not ImportProblem.objects.exists() and not AuditEvent.objects.exists()
    out = io.StringIO()
    call_command("import_roster", str(tmp_path / "r.csv"), "--dry-run", stdout=out)
    assert _counts() == (0, 0)


def test_reimport_is_idempotent_and_updates_by_poor_code(tmp_path, rows):
    path = write_csv(tmp_path / "r.csv", rows)
    first = import_roster(actor="t", path=path)
    ids = dict(Person.objects.values_list("id_number", "id"))
    again = import_roster(actor="t", path=path)
    assert (again.households_created, again.households_updated, again.households_unchanged) == (0, 0, 12)
    assert (again.persons_created, again.persons_updated) == (0, 0)
    assert dict(Person.objects.values_list("id_number", "id")) == ids
    assert Household.objects.filter(version=1).count() == 12
    # a change in the file updates that household only
    for r in rows:
        if r["户编号"] == rows[0]["户编号"]:
            r["脱贫状态"] = "已脱贫(享受政策)"
    rows[1]["文化程度"] = "本科及以上"
    third = import_roster(actor="t", path=write_csv(tmp_path / "r3.csv", rows))
    assert third.households_updated == 1 and third.persons_updated == 1
    hh = Household.objects.get(poor_code=rows[0]["户编号"])
    assert hh.poverty_status == "1" and hh.version == 2 and hh.batch_id == third.batch_id
    assert first.batch_id != third.batch_id


def test_members_no_longer_listed_are_kept_and_reported(tmp_path, rows):
    import_roster(actor="t", path=write_csv(tmp_path / "r.csv", rows))
    dropped = next(r for r in rows if r["与户主关系"] != "户主")
    rows.remove(dropped)
    result = import_roster(actor="t", path=write_csv(tmp_path / "r2.csv", rows))
    assert Person.objects.filter(id_number=dropped["证件号码"]).exists()
    assert dropped["姓名"] in {p.value for p in ImportProblem.objects.filter(  # the value is sealed: compared here
        batch_id=result.batch_id, kind="not_in_file")}


def test_poor_code_kept_verbatim(tmp_path, rows):
    for r in rows:
        if r["户编号"] == rows[0]["户编号"]:
            r["户编号"] = "0042-甲01"
    import_roster(actor="t", path=write_csv(tmp_path / "r.csv", rows))
    assert Household.objects.filter(poor_code="0042-甲01").exists()


def test_scope_user_may_only_import_their_villages(tmp_path, rows, users):
    path = write_csv(tmp_path / "r.csv", rows)
    with pytest.raises(ImportRefused) as exc:
        import_roster(actor=users["town_a"], path=path, scope_user=users["town_a"])
    assert "不在您的管辖范围内" in exc.value.report()
    mine = [r for r in rows if r["乡镇"] == "甲镇"]
    result = import_roster(actor=users["town_a"], path=write_csv(tmp_path / "a.csv", mine),
                           scope_user=users["town_a"])
    assert result.households_created == len({r["户编号"] for r in mine})


def test_reader_handles_header_synonyms(tmp_path, rows):
    path = tmp_path / "syn.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["序号", "乡(镇)", "村", "贫困户编号", "成员姓名", "与户主的关系", "身份证号码", "性别", "民族",
                    "家庭人数", "贫困户类型", "致贫原因", "脱贫标志"])
        for r in rows:
            w.writerow([r[h] for h in NATIONAL_HEADERS])
    assert import_roster(actor="t", path=path).persons_created == len(rows)


def test_ids_stored_as_numbers_by_excel_are_kept_and_listed(tmp_path, rows):
    """Excel keeps 15 significant digits of a number: the ID comes back with zeros; it is imported and listed."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(NATIONAL_HEADERS)
    for r in rows:
        values = [r[h] for h in NATIONAL_HEADERS]
        if r is rows[1]:
            values[NATIONAL_HEADERS.index("证件号码")] = float(r["证件号码"].rstrip("X"))
        ws.append(values)
    wb.save(tmp_path / "numbers.xlsx")
    result = import_roster(actor="t", path=tmp_path / "numbers.xlsx")
    assert result.persons_created == len(rows)
    problem = ImportProblem.objects.get(batch_id=result.batch_id, row=3, kind="id_number")
    stored = Person.objects.get(name=rows[1]["姓名"], household__poor_code=rows[1]["户编号"]).id_number
    assert stored.startswith(rows[1]["证件号码"][:15]) and not Person.objects.get(id_number=stored).id_valid
    assert "证件号码" in problem.column


def test_reimport_keeps_the_grid_given_in_the_registry(tmp_path, rows, county):
    from fupin.registry.services import household_update

    import_roster(actor="t", path=write_csv(tmp_path / "r.csv", rows))
    hh = Household.objects.get(poor_code=rows[0]["户编号"])  # in 甲一村, which has grid ga1
    household_update(actor="t", household=hh, grid=county["ga1"])
    again = import_roster(actor="t", path=write_csv(tmp_path / "r2.csv", rows))
    hh.refresh_from_db()
    assert hh.grid_id == county["ga1"].pk and hh.area_code == county["ga1"].code
    assert again.households_updated == 0
    assert set(Person.objects.filter(household=hh).values_list("area_code", flat=True)) == {county["ga1"].code}


def _other_id(number: str) -> str:
    from fupin.core import idnumber

    body = number[:14] + ("0000" if number[14:17] != "000" else "0010")[:3]
    return body + idnumber.check_char(body)


def test_reimport_with_changed_head_and_spouse_ids_is_refused_not_doubled(tmp_path, rows):
    """The issue's case: a member's ID number changed in the new roster. Adding the member beside the old record
    would leave two 户主 and two 配偶; the file is refused with the rows named, nothing written."""
    import_roster(actor="t", path=write_csv(tmp_path / "r.csv", rows))
    code = rows[0]["户编号"]
    members = [r for r in rows if r["户编号"] == code]
    for r in members:
        if r["与户主关系"] in ("户主", "配偶"):
            r["证件号码"] = _other_id(r["证件号码"])
    before = (_counts(), sorted(Person.objects.values_list("id", "id_number", "version")))
    with pytest.raises(ImportRefused) as exc:
        import_roster(actor="t", path=write_csv(tmp_path / "r2.csv", rows))
    report = exc.value.report()
    head = next(r for r in members if r["与户主关系"] == "户主")
    assert f"第{rows.index(head) + 2}行" in report and "出现两次" in report and head["姓名"] in report
    assert head["证件号码"] not in report  # the report masks ID numbers
    assert (_counts(), sorted(Person.objects.values_list("id", "id_number", "version"))) == before
    hh = Household.objects.get(poor_code=code)
    assert hh.members.filter(relationship="户主", is_alive=True).count() == 1


def test_reimport_adding_a_second_head_is_refused(tmp_path, rows):
    import_roster(actor="t", path=write_csv(tmp_path / "r.csv", rows))
    code = rows[0]["户编号"]
    head = next(r for r in rows if r["户编号"] == code and r["与户主关系"] == "户主")
    rows.remove(head)
    newcomer = {**head, "姓名": "新户主", "证件号码": _other_id(head["证件号码"])}
    rows.insert(0, newcomer)
    with pytest.raises(ImportRefused) as exc:
        import_roster(actor="t", path=write_csv(tmp_path / "r2.csv", rows))
    assert "两个户主" in exc.value.report() and "新户主" in exc.value.report()
    assert not Person.objects.filter(name="新户主").exists()


def test_reimport_placing_a_household_elsewhere_moves_its_rows(tmp_path, rows, county):
    """A roster that places a household in another village moves the household, its members and every row that
    belongs to it (fupin/core/household_rows.py) in the import's transaction."""
    from fupin.assistance.models import AssistanceRecord
    from fupin.assistance.services import record_create

    import_roster(actor="t", path=write_csv(tmp_path / "r.csv", rows))
    code = next(r["户编号"] for r in rows if r["行政村"] == "甲一村")
    hh = Household.objects.get(poor_code=code)
    record, _ = record_create(actor="t", household=hh, occurred_on=hh.created_at.date(), content="走访")
    for r in rows:
        if r["户编号"] == code:
            r["乡镇"], r["行政村"] = "乙镇", "乙一村"
    import_roster(actor="t", path=write_csv(tmp_path / "r2.csv", rows))
    hh.refresh_from_db()
    record.refresh_from_db()
    assert hh.village_id == county["vb1"].pk and hh.area_code == county["vb1"].code
    assert record.area_code == county["vb1"].code
    assert set(Person.objects.filter(household=hh).values_list("area_code", flat=True)) == {county["vb1"].code}
    assert AssistanceRecord.objects.filter(area_code__startswith=county["va1"].code, household=hh).count() == 0


def test_web_import_may_not_take_a_household_registered_outside_the_jurisdiction(tmp_path, rows, county, users):
    import_roster(actor="t", path=write_csv(tmp_path / "r.csv", rows))
    code = next(r["户编号"] for r in rows if r["行政村"] == "乙一村")
    mine = [r for r in rows if r["乡镇"] == "甲镇"]
    stolen = [{**r, "乡镇": "甲镇", "行政村": "甲一村"} for r in rows if r["户编号"] == code]
    with pytest.raises(ImportRefused) as exc:
        import_roster(actor=users["town_a"], path=write_csv(tmp_path / "a.csv", mine + stolen),
                      scope_user=users["town_a"])
    assert "管辖范围以外" in exc.value.report()
    assert Household.objects.get(poor_code=code).village_id == county["vb1"].pk


def test_a_change_between_matching_and_writing_is_seen_and_the_import_matches_again(tmp_path, rows, monkeypatch):
    """The file is matched with the registry before the write transaction; another user's edit in between (here: the
    work place of a member whose education the file changes) makes the import match again: a stale plan would write
    the member's version 2 a second time, and a phone holding version 2 could then overwrite the import."""
    from fupin.registry import importer

    import_roster(actor="t", path=write_csv(tmp_path / "r.csv", rows))
    rows[1]["文化程度"] = "本科及以上"
    member = Person.objects.get(id_number=rows[1]["证件号码"])
    assert member.version == 1
    education_before = member.education
    plans = []
    real_plan = importer._plan

    def plan_then_someone_edits(*args, **kwargs):
        plan = real_plan(*args, **kwargs)
        plans.append(plan)
        if len(plans) == 1:  # another user's write lands between the plan and the write transaction
            Person.objects.filter(pk=member.pk).update(work_place="宜昌", version=2)
        return plan

    monkeypatch.setattr(importer, "_plan", plan_then_someone_edits)
    result = import_roster(actor="t", path=write_csv(tmp_path / "r2.csv", rows))
    assert len(plans) == 2  # the first plan was stale and was not written
    assert result.persons_updated == 1 and result.write_seconds > 0
    member.refresh_from_db()
    assert member.work_place == "宜昌" and member.version == 3 and member.batch_id == result.batch_id
    assert member.education != education_before


def test_unchanged_registry_is_planned_once_and_the_file_read_outside_the_write(tmp_path, rows, monkeypatch):
    from django.db import connection

    from fupin.registry import importer

    depth = []  # transactions open around each step, beyond the test's own
    outer = len(connection.atomic_blocks)
    real_parse, real_plan = importer.parse_roster, importer._plan
    monkeypatch.setattr(importer, "parse_roster",
                        lambda *a, **k: (depth.append(("parse", len(connection.atomic_blocks) - outer)),
                                         real_parse(*a, **k))[1])
    monkeypatch.setattr(importer, "_plan",
                        lambda *a, **k: (depth.append(("plan", len(connection.atomic_blocks) - outer)),
                                         real_plan(*a, **k))[1])
    import_roster(actor="t", path=write_csv(tmp_path / "r.csv", rows))
    assert depth == [("parse", 0), ("plan", 0)]
