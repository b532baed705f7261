"""Two cuts of `compare` that must leave its results as they were: the links written without SQLite's per-row
foreign-key lookups (their references checked at once), and expectation maximisation on the persons its training
rules block (the same pairs, so the same m values)."""

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from django.db import IntegrityError, connection, transaction

from fupin.core.bulk import foreign_keys_checked_in_bulk, foreign_keys_enforced
from fupin.exchange import engine
from fupin.exchange.engine import LinkSettings
from fupin.exchange.linkage import linkage_compute, linkage_run, linkage_write
from fupin.exchange.models import RecordLink
from fupin.exchange.tests.test_linkage import dibao  # noqa: F401 - the fixture


def _links():
    return sorted(RecordLink.objects.values_list("record_id", "person_id", "method", "score"))


def _parameters(plan):
    """A plan's trained m/u by (comparison, level)."""
    return {(c, label): mu for c, levels in plan.model["parameters"].items() if c != "match_rate"
            for label, mu in levels.items()}


@pytest.mark.django_db(transaction=True)
def test_links_written_without_per_row_lookups_are_the_same_and_their_references_checked(people, dibao):  # noqa: F811
    with foreign_keys_checked_in_bulk(RecordLink) as off:
        assert off == (connection.vendor == "sqlite")  # outside any transaction: SQLite's lookups go off
        with transaction.atomic():
            assert foreign_keys_enforced(RecordLink) == (connection.vendor != "sqlite")
    assert foreign_keys_enforced(RecordLink)  # and come back on
    linkage_run(actor="test")  # opens its transaction inside foreign_keys_checked_in_bulk
    assert foreign_keys_enforced(RecordLink)
    written = _links()
    assert len(written) >= 5
    with transaction.atomic():  # inside an outer transaction: SQLite checks row by row, as before
        assert foreign_keys_enforced(RecordLink)
        linkage_run(actor="test", force=True)
    assert _links() == written
    # a link to a person who does not exist is refused, and nothing of the write stays
    plan = linkage_compute(force=True)
    person = plan.links.column_names.index("person_id")
    bad = pc.if_else(pc.equal(pa.array(range(plan.links.num_rows)), 0), 10**9, plan.links.column(person))
    plan.links = plan.links.set_column(person, "person_id", bad.cast(pa.int64()))
    with pytest.raises(IntegrityError), foreign_keys_checked_in_bulk(RecordLink), transaction.atomic():
        linkage_write(plan, actor="test", cache=False)
    assert _links() == written
    assert foreign_keys_enforced(RecordLink)


@pytest.fixture
def small_county(tmp_path, db):
    from django.core.management import call_command

    from fupin.exchange.services import import_department
    from fupin.exchange.testdata import DIVISIONS_CSV, make_county
    from fupin.exchange.tests.helpers import load_roster, truth

    out = tmp_path / "c"
    make_county(out, scale=0.003, seed=11, quirks=("dates",))
    t = truth(out)
    call_command("import_divisions", str(DIVISIONS_CSV), stdout=open("/dev/null", "w"))
    load_roster(out / t["roster_file"])
    for source in ("payroll", "vehicle", "business", "property", "dibao", "medical"):
        import_department(actor="test", source_code=source, path=out / t["files"][source])


def test_em_on_the_persons_its_rules_block_learns_what_it_learns_on_everyone(small_county, monkeypatch):
    settings = LinkSettings(min_train_records=100, u_max_pairs=5e4, em_max_pairs=1e5)  # small data, quick
    narrowed = linkage_compute(force=True, settings=settings)
    monkeypatch.setattr(engine, "persons_blocked_sql", lambda rules: "SELECT * FROM right_in")
    monkeypatch.setattr(engine, "records_blocked_sql", lambda rules: "SELECT * FROM left_in")
    everyone = linkage_compute(force=True, settings=settings)
    assert narrowed.model["trained"] and everyone.model["trained"]
    assert narrowed.stats["training_persons"] < everyone.stats["training_persons"] == everyone.persons
    # each session read the records and persons of its own rule only
    sides = narrowed.stats["training_sides_by_rule"]
    assert set(sides) == set(settings.training_rules)
    assert all(0 < s["records"] < narrowed.stats["residual"] for s in sides.values())
    assert all(s["persons"] <= narrowed.stats["training_persons"] for s in sides.values())

    got, want = _parameters(narrowed), _parameters(everyone)
    assert got.keys() == want.keys()
    assert all(got[k] == pytest.approx(want[k], rel=1e-9) for k in want)
    assert narrowed.model["em_iterations"] == everyone.model["em_iterations"]

    def links(plan):
        return sorted(zip(*(plan.links.column(c).to_pylist() for c in ("record_id", "person_id", "method")),
                          strict=True))

    assert links(narrowed) == links(everyone)
    # the control: EM on persons left out that its rules do block learns other m values
    monkeypatch.setattr(engine, "persons_blocked_sql", lambda rules: "SELECT * FROM right_in WHERE unique_id % 2 = 0")
    halved = _parameters(linkage_compute(force=True, settings=settings))
    assert any(halved[k] != pytest.approx(want[k], rel=1e-6) for k in want)


def test_em_on_the_records_splink_samples_learns_what_it_learns_on_all_its_rule_blocks(small_county, monkeypatch):
    import contextlib

    # a wide training rule (thousands of pairs, most of them non-matches: m depends on which are sampled) and a
    # small pair bound with a probe over every record, so that Splink samples the session's records
    settings = LinkSettings(min_train_records=100, u_max_pairs=5e4, em_max_pairs=400, em_probe_share=1.0,
                            training_rules=["l.town_code = r.town_code AND l.sex = r.sex", "l.name_py = r.name_py"])
    sampled = linkage_compute(force=True, settings=settings)
    chosen = engine._em_sample_chosen
    monkeypatch.setattr(engine, "_em_sample_chosen", lambda on_sample: contextlib.nullcontext())
    whole = linkage_compute(force=True, settings=settings)  # the inputs not narrowed to the sample
    assert sampled.model["trained"] and whole.model["trained"]
    assert "training_sampled" not in whole.stats
    # the sessions whose records were sampled: their inputs are the sample, made from the records and persons
    # directly (never first all those the rule blocks: those are counted only for a session not sampled)
    narrowed = sampled.stats["training_sampled"]
    assert narrowed and all(0 < n < sampled.stats["residual"] and 0 < m < sampled.persons for n, m in narrowed)
    assert len(narrowed) + len(sampled.stats.get("training_sides_by_rule", {})) == len(settings.training_rules)

    got, want = _parameters(sampled), _parameters(whole)
    assert got.keys() == want.keys()
    assert all(got[k] == pytest.approx(want[k], rel=1e-9) for k in want)
    assert sampled.model["em_iterations"] == whole.model["em_iterations"]
    # the control: a sample smaller than Splink's (only the ids ending in 0 to 4 of it kept: about half) learns
    # other m values
    monkeypatch.setattr(engine, "_em_sample_chosen", lambda on_sample: chosen(
        on_sample and (lambda condition: on_sample(condition and (
            lambda alias: f"{condition(alias)} AND {alias}.unique_id % 10 < 5")))))
    smaller = linkage_compute(force=True, settings=settings)
    assert smaller.model["trained"]
    assert any(_parameters(smaller)[k] != pytest.approx(want[k], rel=1e-6) for k in want)


def test_em_iterations_in_numpy_learn_what_splinks_own_iterations_learn(small_county, monkeypatch):
    import contextlib

    settings = LinkSettings(min_train_records=100, u_max_pairs=5e4, em_max_pairs=1e5)  # small data, quick
    numpy_em = linkage_compute(force=True, settings=settings)
    monkeypatch.setattr(engine, "_em_steps_in_numpy", contextlib.nullcontext)  # Splink's own iterations
    splink_em = linkage_compute(force=True, settings=settings)
    assert numpy_em.model["trained"] and splink_em.model["trained"]

    got, want = _parameters(numpy_em), _parameters(splink_em)
    assert got.keys() == want.keys() and len(want) >= 20
    assert all(got[k] == pytest.approx(want[k], rel=1e-9) for k in want)
    assert numpy_em.model["em_iterations"] == splink_em.model["em_iterations"]
    assert all(numpy_em.model["em_sessions"][rule] == "trained" for rule in settings.training_rules)

    def links(plan):
        return sorted(zip(*(plan.links.column(c).to_pylist() for c in ("record_id", "person_id", "method")),
                          strict=True))

    assert links(numpy_em) == links(splink_em)
    assert numpy_em.stats["probabilistic"] == splink_em.stats["probabilistic"] > 0


@pytest.mark.django_db(transaction=True)
def test_the_bulk_reference_check_refuses_parents_outside_where_the_rows_must_point(people, dibao):  # noqa: F811
    """`check_references` (the links' write without SQLite's per-row lookups; its keys sorted, then looked up):
    links of the new snapshot that point at records of the earlier one — records that exist, but not where that
    snapshot's links must point — are refused with their count; the links as written pass."""
    from fupin.core.bulk import check_references
    from fupin.exchange.models import StagedRecord
    from fupin.exchange.services import import_department

    earlier, path = dibao
    later = import_department(actor="test", source_code="dibao", path=path)
    linkage_run(actor="test")
    where, params = "snapshot_id = %s", [later.pk]
    narrowed = {"record_id": ("snapshot_id = %s", [later.pk])}
    check_references(RecordLink, where, params, parents_where=narrowed)
    stray = list(StagedRecord.objects.filter(snapshot=earlier).order_by("-pk").values_list("pk", flat=True)[:2])
    moved = list(RecordLink.objects.filter(snapshot=later).order_by("pk").values_list("pk", flat=True)[:2])
    assert len(stray) == len(moved) == 2
    for link, record in zip(moved, stray, strict=True):
        RecordLink.objects.filter(pk=link).update(record_id=record)
    with pytest.raises(IntegrityError, match=r"RecordLink\.record_id: 2 rows refer to a missing StagedRecord"):
        check_references(RecordLink, where, params, parents_where=narrowed)
    check_references(RecordLink, where, params)  # every record exists
    with pytest.raises(IntegrityError, match=r"RecordLink\.record_id: 2 rows"):
        check_references(RecordLink, where, params, parents_where=narrowed, few=True)  # the same, row by row


@pytest.mark.django_db(transaction=True)
def test_the_reference_check_in_the_parents_index_refuses_a_record_of_another_snapshot(people, dibao):  # noqa: F811
    """`check_references(..., same={"record_id": "snapshot_id"})` (the links' write at 10x: each link's record
    looked up in the records' snapshot index, no key read beforehand, no link sorted): a link whose record is of
    another snapshot than the link's, or missing, is refused with its count; the links as written pass."""
    from fupin.core.bulk import check_references
    from fupin.exchange.models import StagedRecord
    from fupin.exchange.services import import_department

    earlier, path = dibao
    later = import_department(actor="test", source_code="dibao", path=path)
    linkage_run(actor="test")
    where, params, same = "snapshot_id = %s", [later.pk], {"record_id": "snapshot_id"}
    check_references(RecordLink, where, params, same=same)
    stray = list(StagedRecord.objects.filter(snapshot=earlier).order_by("-pk").values_list("pk", flat=True)[:2])
    moved = list(RecordLink.objects.filter(snapshot=later).order_by("pk").values_list("pk", flat=True)[:3])
    assert len(stray) == 2 and len(moved) == 3
    for link, record in zip(moved[:2], stray, strict=True):
        RecordLink.objects.filter(pk=link).update(record_id=record)
    with pytest.raises(IntegrityError, match=r"RecordLink\.record_id: 2 rows refer to a missing StagedRecord"):
        check_references(RecordLink, where, params, same=same)
    if connection.vendor == "sqlite":  # a record that does not exist (PostgreSQL refuses it at the commit)
        with connection.cursor() as cur:
            cur.execute("PRAGMA foreign_keys = OFF")
            try:
                RecordLink.objects.filter(pk=moved[2]).update(record_id=10**9)
            finally:
                cur.execute("PRAGMA foreign_keys = ON")
        with pytest.raises(IntegrityError, match=r"RecordLink\.record_id: 3 rows refer to a missing StagedRecord"):
            check_references(RecordLink, where, params, same=same)
