"""Rows that belong to a household: the one declaration that makes jurisdiction follow the household.

Every scoped row carries `area_code` (its household's grid or village code) so reads stay one indexed prefix filter.
A row that belongs to a household must therefore move when the household moves. Each app declares such models once,
in its `hooks.py`, with the lookup path from the model to the household:

    from fupin.core.household_rows import household_rows
    household_rows("assistance.AssistanceRecord", "household")
    household_rows("assistance.RecordAttachment", "record__household")
    household_rows("dispatch.WorkOrder", "household", village_field="village")

and the one move service, `fupin.registry.services.household_relocate` (used by the household edit, the grid
assignment and the roster re-import), updates every declared model's `area_code` (and its `village_field`) with one
set-based UPDATE per model, inside the move's transaction. `tests/test_household_rows.py` fails when a model with an
`area_code` and a foreign-key path to the household is not declared, so a later capability cannot forget.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.db.models import Q
from django.utils import timezone


@dataclass(frozen=True)
class HouseholdRows:
    label: str  # "app_label.ModelName"
    path: str  # lookup from the model to registry.Household, e.g. "household" or "step__procedure__household"
    village_field: str | None = None  # a foreign key to the village kept beside area_code (moved with it)
    when: Q | None = None  # only the rows matching this belong to the household through this path

    @property
    def model(self):
        return apps.get_model(self.label)


_DECLARED: dict[tuple[str, str], HouseholdRows] = {}


def household_rows(label: str, path: str, *, village_field: str | None = None, when: Q | None = None) -> None:
    """Declare that rows of model `label` belong to the household reached by `path` (see the module docstring)."""
    _DECLARED[(label.lower(), path)] = HouseholdRows(label, path, village_field, when)


def declared() -> list[HouseholdRows]:
    return list(_DECLARED.values())


def declared_labels() -> set[str]:
    return {key[0] for key in _DECLARED}


def relocate_rows(household_ids: list[int], *, area_code: str, village=None) -> dict[str, int]:
    """Set `area_code` (and the village field) of every declared row of these households; {label: rows updated}.

    Called by the registry's move services inside their transaction; never on its own.
    """
    now = timezone.now()
    counts: dict[str, int] = {}
    for spec in declared():
        qs = spec.model._base_manager.filter(**{f"{spec.path}__in": household_ids})
        if spec.when is not None:
            qs = qs.filter(spec.when)
        values = {"area_code": area_code}
        if spec.village_field and village is not None:
            values[spec.village_field] = village
        stamp = {"updated_at": now} if any(f.name == "updated_at" for f in spec.model._meta.concrete_fields) else {}
        n = qs.exclude(**values).update(**values, **stamp)  # updated_at: incremental readers (phones) see the move
        if n:
            counts[spec.label] = counts.get(spec.label, 0) + n
    return counts
