"""Refreshing the figure snapshot: figures match the registry, stale marking after changes, nightly and jobs."""

import pytest
from django.db import transaction

from fupin.core import nightly
from fupin.core.stats import collect
from fupin.core.testing import make_household, make_user
from fupin.dashboards.models import FigureSnapshot, SnapshotState
from fupin.dashboards.services import mark_stale, refresh_snapshots


def values(code):
    return {s.key: s for s in FigureSnapshot.objects.filter(area_code=code)}


def test_refresh_counts_the_registry_at_every_level(mapped):
    result = refresh_snapshots(reason="test")
    assert result["rows"] > 0
    county = values(mapped["county"].code)
    assert county["poor_households"].value == 7
    assert county["poor_persons"].value == 3 + 2 + 4 + 2 + 1 + 3 + 2
    assert county["households"].value == 8
    assert county["persons"].value == 17 + 2
    assert county["current_poor_households"].value == 6
    assert county["exited_households"].value == 1
    assert county["poor_households_by_status"].breakdown == {"0": 4, "2": 1, "1": 1, "3": 1}
    assert county["poor_households_by_cause"].breakdown == {"1": 2, "3": 1, "7": 1, "8": 1, "2": 2}
    assert county["exited_households_by_year"].breakdown == {"2016": 1}
    assert county["villages"].value == 3 and county["communities"].value == 1 and county["grids"].value == 2
    assert county["unlocated_poor_households"].value == 1
    # incidence: not-yet-out poor persons over the registry's residents (no village forms here)
    assert county["incidence"].value == round((17 - 4) * 100 / 19, 2)
    town_a = values(mapped["town_a"].code)
    assert town_a["poor_households"].value == 5
    grid = values(mapped["ga1"].code)
    assert grid["poor_households"].value == 3 and grid["poor_households"].level == "grid"
    assert values(mapped["vb1"].code)["poor_households"].value == 2
    state = SnapshotState.objects.get()
    assert state.computed_at is not None and state.stale_since is None and state.rows == result["rows"]


def test_a_second_refresh_replaces_the_snapshot(mapped):
    refresh_snapshots()
    make_household(mapped["vb1"], grid=mapped["gb1"], head="乙新户", members=2, is_registered_poor=True,
                   poor_code="420581101201009", poverty_status="0")
    refresh_snapshots()
    assert values(mapped["county"].code)["poor_households"].value == 8
    assert FigureSnapshot.objects.filter(area_code=mapped["county"].code, key="poor_households").count() == 1


# `fupin stats` key -> the dashboard figure holding the same count (a dict-valued key: the figure's breakdown)
STATS_FIGURES = {
    "towns": "towns", "villages": "villages", "communities": "communities", "grids": "grids",
    "households": "households", "persons": "persons", "poor_households": "poor_households",
    "poor_persons": "poor_persons", "poor_villages": "poor_villages",
    "poor_households_by_status": "poor_households_by_status",
    "warnings": "assistance.lights", "paired_households": "assistance.paired",
    "unpaired_households": "assistance.unpaired", "open_procedures_by_kind": "lifecycle.open",
    "findings_open": "eligibility.open", "pinned_households": "dispatch.pinned",
    "data_quality_problems": "quality.open_problems",
}


def test_county_totals_equal_fupin_stats(mapped, client):
    """The county's figures of the dashboard API agree with `fupin stats --json` after `fupin nightly` (which also
    computes the warning lights and quality checks the figures count)."""
    from fupin.core.testing import make_user

    nightly.run_refreshers(nightly=True)
    stats = collect()
    client.force_login(make_user("office", "city_office", division=mapped["county"]))
    api = client.get("/api/v1/dashboard/figures").json()
    figures = {f["key"]: f for f in api["figures"]}
    compared = 0
    for stat, key in STATS_FIGURES.items():
        if stat not in stats or key not in figures:
            continue
        compared += 1
        if isinstance(stats[stat], dict):
            items = {i["code"]: i["value"] for i in figures[key]["items"]}
            assert {k: v for k, v in stats[stat].items() if v} == {k: v for k, v in items.items() if v}, stat
        else:
            assert (figures[key]["value"] or 0) == stats[stat], stat
    assert compared >= 10
    assert stats["poor_households"] == 7 and figures["poor_households"]["value"] == 7


def test_a_registry_change_marks_the_figures_stale_once_per_transaction(mapped, django_capture_on_commit_callbacks):
    refresh_snapshots()
    transaction.get_connection().run_on_commit.clear()  # drop what building the fixture registered
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            make_household(mapped["va1"], head="新一户", members=1)
            make_household(mapped["va1"], head="新二户", members=1)
    marks = [c for c in callbacks if getattr(c, "marks_figures_stale", False)]
    assert len(marks) == 1
    state = SnapshotState.objects.get()
    assert state.stale_since is not None
    refresh_snapshots()
    assert SnapshotState.objects.get().stale_since is None


def test_mark_stale_schedules_one_deferred_refresh_when_the_backend_can_defer(db, monkeypatch,
                                                                            django_capture_on_commit_callbacks):
    from fupin.dashboards import services

    queued = []
    monkeypatch.setattr(services, "can_defer", lambda: True)
    monkeypatch.setattr(services, "enqueue_refresh", lambda **kw: queued.append(kw["run_after"]))
    from django.utils import timezone

    SnapshotState.objects.create(computed_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        mark_stale(reason="x")
    with django_capture_on_commit_callbacks(execute=True):
        mark_stale(reason="y")  # within the debounce window: no second task
    assert len(queued) == 1 and queued[0] > timezone.now()
    state = SnapshotState.objects.get()
    assert state.scheduled_for == queued[0] and state.stale_since is not None


def test_a_database_never_computed_is_refreshed_without_waiting(db, monkeypatch, django_capture_on_commit_callbacks):
    from django.utils import timezone

    from fupin.dashboards import services

    queued = []
    monkeypatch.setattr(services, "can_defer", lambda: True)
    monkeypatch.setattr(services, "enqueue_refresh", lambda **kw: queued.append(kw["run_after"]))
    with django_capture_on_commit_callbacks(execute=True):
        mark_stale(reason="seeded")
    assert len(queued) == 1 and queued[0] <= timezone.now()


def test_nightly_and_on_change_run_the_refresh(mapped):
    assert "dashboards.figures" in nightly.steps()
    results = nightly.run_refreshers(nightly=False, only=["dashboards.figures"])
    assert results["dashboards.figures"]["rows"] > 0


def test_the_refresh_job_recomputes(mapped):
    from fupin.core.services import job_create, job_run

    user = make_user("office", "city_office", division=mapped["county"])
    job = job_create(kind="dashboards.refresh", title="t", actor=user)
    job = job_run(job.pk)
    assert job.status == "succeeded", job.message
    assert FigureSnapshot.objects.filter(key="poor_households").exists()


@pytest.mark.parametrize("year,expected", [(2016, 1)])
def test_exit_year_breakdown(mapped, year, expected):
    refresh_snapshots()
    assert values(mapped["va1"].code)["exited_households_by_year"].breakdown == {str(year): expected}


def test_changes_during_a_refresh_get_a_refresh_of_their_own(mapped, monkeypatch, django_capture_on_commit_callbacks):
    import datetime as dt

    from django.utils import timezone

    from fupin.dashboards import services

    queued = []
    monkeypatch.setattr(services, "can_defer", lambda: True)
    monkeypatch.setattr(services, "enqueue_refresh", lambda **kw: queued.append(kw["run_after"]))
    later = timezone.now() + dt.timedelta(hours=1)  # a change recorded after this refresh started
    SnapshotState.objects.create(computed_at=timezone.now(), stale_since=later, scheduled_for=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        refresh_snapshots()
    state = SnapshotState.objects.get()
    assert state.stale_since == later and len(queued) == 1 and state.scheduled_for == queued[0]
    SnapshotState.objects.update(stale_since=timezone.now())  # the change is older than the next run
    with django_capture_on_commit_callbacks(execute=True):
        refresh_snapshots()
    state = SnapshotState.objects.get()
    assert len(queued) == 1 and state.stale_since is None and state.scheduled_for is None


def test_mark_stale_writes_nothing_while_stale_with_a_refresh_pending(db, monkeypatch,
                                                                     django_capture_on_commit_callbacks):
    import datetime as dt

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from fupin.dashboards import services

    queued = []
    monkeypatch.setattr(services, "can_defer", lambda: True)
    monkeypatch.setattr(services, "enqueue_refresh", lambda **kw: queued.append(kw["run_after"]))
    SnapshotState.objects.create(computed_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True), CaptureQueriesContext(connection) as first:
        mark_stale(reason="x")  # positive control: the first change writes the state and queues a refresh
    assert any(q["sql"].startswith("UPDATE") for q in first.captured_queries) and len(queued) == 1
    with django_capture_on_commit_callbacks(execute=True), CaptureQueriesContext(connection) as second:
        mark_stale(reason="y")
    assert len(second.captured_queries) == 1 and second.captured_queries[0]["sql"].startswith("SELECT")
    assert len(queued) == 1
    # a queued refresh taken for lost (scheduled long ago): the state is written and a new refresh queued
    SnapshotState.objects.update(scheduled_for=timezone.now() - dt.timedelta(hours=2))
    with django_capture_on_commit_callbacks(execute=True):
        mark_stale(reason="z")
    assert len(queued) == 2 and SnapshotState.objects.get().scheduled_for == queued[1]
