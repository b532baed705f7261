"""Jurisdiction follows the household: every row that belongs to a household is declared
(fupin/core/household_rows.py) and moves with it, in one transaction, whichever way the household moves."""

from __future__ import annotations

import importlib
from importlib.util import find_spec

import pytest
from django.apps import apps
from django.db import models

from fupin.core.appconfig import fupin_apps
from fupin.core.audit import AuditEvent
from fupin.core.household_rows import declared, declared_labels
from fupin.core.testing import make_user
from fupin.registry.models import Household

# Models with an area_code that reach a household by a foreign key but do not belong to it, and why.
NOT_HOUSEHOLD_ROWS: dict[str, str] = {}


def _paths_to_household(model, depth: int = 3, prefix: str = "", seen=()) -> list[str]:
    out = []
    if depth == 0:
        return out
    for f in model._meta.concrete_fields:
        if not f.is_relation or f.related_model is None or f.related_model in seen:
            continue
        path = f"{prefix}{f.name}"
        if f.related_model is Household:
            out.append(path)
        elif f.related_model._meta.app_label not in ("accounts", "core", "geo", "org"):
            out += _paths_to_household(f.related_model, depth - 1, f"{path}__", (*seen, model))
    return out


def test_every_model_with_an_area_code_and_a_household_is_declared():
    """A capability that adds a row carrying its household's area_code must declare it, or a move leaves the row
    in the old village (readable there, invisible in the new one)."""
    missing = []
    for model in apps.get_models():
        if model is Household or not any(f.name == "area_code" for f in model._meta.concrete_fields):
            continue
        label = model._meta.label_lower
        if _paths_to_household(model) and label not in declared_labels() and label not in NOT_HOUSEHOLD_ROWS:
            missing.append(f"{model._meta.label}: {_paths_to_household(model)}")
    assert not missing, ("rows that belong to a household but do not move with it; declare them in the app's "
                         "hooks.py with fupin.core.household_rows.household_rows(label, path):\n" + "\n".join(missing))
    for spec in declared():  # every declared path resolves to the household
        field = spec.model._meta.get_field(spec.path.split("__")[0])
        assert isinstance(field, models.ForeignKey), spec


def _fill(village, grid, actor):
    for app in fupin_apps():
        if find_spec(f"{app.name}.testing") is not None:
            module = importlib.import_module(f"{app.name}.testing")
            if hasattr(module, "sweep_objects"):
                module.sweep_objects(village=village, grid=grid, actor=actor)


def _rows(spec, household_ids):
    return spec.model._base_manager.filter(**{f"{spec.path}__in": household_ids})


@pytest.fixture
def filled(county):
    actor = make_user("rows_admin", "city_office", division=county["county"])
    _fill(county["va1"], county["ga1"], actor)
    from fupin.exchange.models import LinkReview, StagedRecord
    from fupin.registry.models import Person

    person = Person.objects.filter(household__village=county["va1"]).first()
    LinkReview.objects.create(record_key="sweep-review", source_code="vehicle", person=person,
                              record=StagedRecord.objects.first(), area_code=person.area_code)
    ids = list(Household.objects.filter(village=county["va1"]).values_list("pk", flat=True))
    return {"actor": actor, "ids": ids}


def _scoped_count(spec, user, ids) -> int:
    return spec.model.objects.restrict(user).filter(**{f"{spec.path}__in": ids}).count()


def test_a_household_move_carries_every_row(county, filled, client):
    """Move every household of village A (with their visits, pairings, plans, findings, work orders, procedures,
    responses, problems ...) to village B's grid: A's team sees none of it, B's grid worker all of it."""
    from fupin.registry.services import household_relocate

    ids, va1, vb1, gb1 = filled["ids"], county["va1"], county["vb1"], county["gb1"]
    team_a = make_user("team_a", "village_team", division=va1)
    grid_b = make_user("grid_b", "grid_worker", grid=gb1)
    before = {spec: _rows(spec, ids).count() for spec in declared()}
    empty = [f"{s.label} ({s.path})" for s, n in before.items() if n == 0]
    assert not empty, f"the test county has no rows of {empty}: the move would prove nothing for them"
    assert all(_scoped_count(spec, team_a, ids) == n for spec, n in before.items())
    for hh in Household.objects.filter(pk__in=ids):
        household_relocate(actor=filled["actor"], household=hh, village=vb1, grid=gb1)
    for spec, n in before.items():
        rows = _rows(spec, ids)
        assert rows.count() == n
        assert set(rows.values_list("area_code", flat=True)) == {gb1.code}, spec
        if spec.village_field:
            assert set(rows.values_list(f"{spec.village_field}_id", flat=True)) == {vb1.pk}, spec
        assert _scoped_count(spec, team_a, ids) == 0, f"{spec.label}: the old village still sees it"
        assert _scoped_count(spec, grid_b, ids) == n, f"{spec.label}: the new grid worker does not see it all"
    event = AuditEvent.objects.filter(action="registry.household.update").latest("id")
    assert event.after["rows_moved"] and event.after["area_code"] == gb1.code
    moved = {str(u) for u in Household.objects.filter(pk__in=ids).values_list("uuid", flat=True)}
    client.force_login(team_a)  # the case: the visits (needs, GPS, cadre) through the records API
    assert not {r["household"] for r in client.get("/api/v1/assistance/records").json()} & moved
    client.force_login(grid_b)
    seen = {r["household"] for r in client.get("/api/v1/assistance/records").json()}
    assert seen and seen <= moved


def test_a_move_is_one_transaction(county, filled, monkeypatch):
    """A failure while the rows move leaves the household and every row where they were."""
    from fupin.core import household_rows
    from fupin.registry.services import household_relocate

    hh = Household.objects.filter(pk__in=filled["ids"], grid=county["ga1"]).first()
    real = household_rows.relocate_rows

    def failing(*args, **kwargs):
        real(*args, **kwargs)
        raise RuntimeError("disk full")

    monkeypatch.setattr("fupin.registry.services.relocate_rows", failing)
    with pytest.raises(RuntimeError):
        household_relocate(actor="test", household=hh, village=county["vb1"], grid=county["gb1"])
    hh.refresh_from_db()
    assert hh.area_code == county["ga1"].code
    for spec in declared():
        assert not _rows(spec, [hh.pk]).filter(area_code=county["gb1"].code).exists(), spec


def test_grid_assignment_carries_every_row(county, filled):
    from fupin.geo.services import households_assign_grid

    hh = Household.objects.filter(pk__in=filled["ids"], grid__isnull=True).first()
    assert hh is not None and hh.area_code == county["va1"].code
    households_assign_grid(actor=filled["actor"], village=county["va1"], by="hand", grid=county["ga1"],
                           household_ids=[hh.pk])
    for spec in declared():
        assert set(_rows(spec, [hh.pk]).values_list("area_code", flat=True)) <= {county["ga1"].code}, spec
