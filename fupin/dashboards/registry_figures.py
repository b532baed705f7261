"""The registry's figures (poor households and people, villages, grids, data quality), registered through the same
extension points other capabilities use (registered by `fupin.dashboards.hooks`).

Definitions (those of the registry's `fupin stats` keys):
- a household counts while it is not dissolved (a merge dissolves it too); a person while alive and in such a
  household;
- 建档立卡 (poor) households are those with `is_registered_poor`; "not yet out of poverty" means any status but
  已脱贫 (1, 4): 未脱贫, 预脱贫 and 返贫;
- the poverty incidence is not-yet-out poor people over the population: a village's latest village form
  (rural population, else total population) where it has one, else the residents in the registry.
"""

from __future__ import annotations

from collections import defaultdict

from django.conf import settings
from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from fupin.core.extensions import DerivedFigure, Figure, FigureProvider, Row
from fupin.dashboards.figures import household_list_url, memo

EXITED = ("1", "4")
NOT_LOCATED = Q(lng__isnull=True) | Q(lat__isnull=True)


def village_exit_threshold() -> float:
    """The incidence (percent) under which a poor village may exit (出列); 2 by default, 3 in western provinces."""
    return float(getattr(settings, "FUPIN_VILLAGE_EXIT_INCIDENCE", 2.0))


def _tables():
    from fupin.registry.labels import code_tables

    return memo("registry.code_tables", code_tables)


def _dims(key: str):
    def dims() -> list[tuple[str, str, str]]:
        t = _tables()
        return [(code, label, t.color(key, code)) for code, label in t.shown_choices(key)]

    return dims


def _live_households():
    from fupin.registry.models import Household

    return Household.objects.filter(dissolved_on__isnull=True)


def compute(ctx):
    """Leaf rows of the registry's figures: two grouped queries over households and persons, one over villages."""
    from fupin.geo.models import Division
    from fupin.registry.models import ImportProblem, Person, VillageProfile

    hh_rows = (_live_households()
               .values("area_code", "is_registered_poor", "poverty_status", "attribute", "main_cause", "year_exited")
               .annotate(n=Count("id"), unlocated=Count("id", filter=NOT_LOCATED),
                         no_grid=Count("id", filter=Q(grid__isnull=True))))
    for r in hh_rows:
        code, n = r["area_code"], r["n"]
        yield Row(code, "households", n)
        yield Row(code, "households_without_grid", r["no_grid"])
        if not r["is_registered_poor"]:
            continue
        yield from _poor_rows(code, n, r, "households")
        yield Row(code, "unlocated_poor_households", r["unlocated"])

    persons_by_village: dict[str, float] = defaultdict(float)
    current_by_village: dict[str, float] = defaultdict(float)
    person_leaves: list[tuple[str, float]] = []
    p_rows = (Person.objects.filter(is_alive=True, household__isnull=False, household__dissolved_on__isnull=True)
              .values("household__area_code", "household__is_registered_poor", "household__poverty_status",
                      "household__attribute", "household__main_cause", "household__year_exited")
              .annotate(n=Count("id"), invalid=Count("id", filter=Q(id_valid=False))))
    for r in p_rows:
        code, n = r["household__area_code"], r["n"]
        yield Row(code, "persons", n)
        persons_by_village[code[:12]] += n
        person_leaves.append((code, n))
        if not r["household__is_registered_poor"]:
            continue
        fields = {k.removeprefix("household__"): v for k, v in r.items()}
        yield from _poor_rows(code, n, fields, "persons")
        yield Row(code, "invalid_id_poor_persons", r["invalid"])
        if fields["poverty_status"] not in EXITED:
            current_by_village[code[:12]] += n

    # population: the village form where there is one, else the registry's residents (at the leaves, so grids sum)
    profile_population: dict[str, float] = {}
    for code, rural, total in (VillageProfile.objects.order_by("village__code", "year")
                               .values_list("village__code", "rural_population", "population_total")):
        if rural or total:
            profile_population[code] = rural or total
    for code, population in profile_population.items():
        yield Row(code, "population", population)
    for code, n in person_leaves:
        if code[:12] not in profile_population:
            yield Row(code, "population", n)

    threshold = village_exit_threshold()
    for code, level, poor_village in Division.objects.values_list("code", "level", "is_poor_village"):
        if level == "town":
            yield Row(code, "towns", 1)
        elif level == "village":
            yield Row(code, "villages", 1)
        elif level == "community":
            yield Row(code, "communities", 1)
        if poor_village and level == "village":
            yield Row(code, "poor_villages", 1)
            population = profile_population.get(code, persons_by_village.get(code, 0))
            if population and current_by_village.get(code, 0) * 100 / population < threshold:
                yield Row(code, "poor_villages_below_exit_line", 1)
    from fupin.geo.models import Grid

    for code in Grid.objects.values_list("code", flat=True):
        yield Row(code, "grids", 1)

    for code, kind, n in (ImportProblem.objects.exclude(area_code="").values("area_code", "kind")
                          .annotate(n=Count("id")).values_list("area_code", "kind", "n")):
        yield Row(code, "import_problems", n, dim=kind)


def _poor_rows(code: str, n: int, r: dict, what: str):
    status = r["poverty_status"] or ""
    yield Row(code, f"poor_{what}", n)
    yield Row(code, f"poor_{what}_by_status", n, dim=status)
    yield Row(code, f"poor_{what}_by_attribute", n, dim=r["attribute"] or "")
    yield Row(code, f"poor_{what}_by_cause", n, dim=r["main_cause"] or "")
    if status in EXITED:
        yield Row(code, f"exited_{what}", n)
        if r["year_exited"]:
            yield Row(code, f"exited_{what}_by_year", n, dim=str(r["year_exited"]))
    else:
        yield Row(code, f"current_poor_{what}", n)


def _link(**filters):
    return lambda area, dim: household_list_url(area, **filters)


def _link_dim(name: str, **filters):
    return lambda area, dim: household_list_url(area, **filters, **({name: dim} if dim is not None else {}))


def _import_problem_dims():
    from fupin.registry.models import ImportProblem

    return [(code, str(label), "") for code, label in ImportProblem.Kind.choices]


HH, PP = _("households"), _("persons")
FIGURES = [
    Figure("poor_households", _("Registered poor households"), section="overview", unit=HH, column=True, order=10,
           link=_link(poor=1)),
    Figure("poor_persons", _("Registered poor persons"), section="overview", unit=PP, column=True, order=11,
           link=_link(poor=1)),
    Figure("current_poor_households", _("Households not yet out of poverty"), section="overview", unit=HH,
           column=True, order=12, link=lambda area, dim: household_list_url(area, poor=1, status="0,2,3")),
    Figure("current_poor_persons", _("Persons not yet out of poverty"), section="overview", unit=PP, order=13,
           link=lambda area, dim: household_list_url(area, poor=1, status="0,2,3")),
    Figure("exited_households", _("Households out of poverty"), section="overview", unit=HH, column=True, order=14,
           higher_is_worse=False, link=lambda area, dim: household_list_url(area, poor=1, status="1,4")),
    Figure("exited_persons", _("Persons out of poverty"), section="overview", unit=PP, order=15,
           higher_is_worse=False, link=lambda area, dim: household_list_url(area, poor=1, status="1,4")),
    Figure("households", _("Resident households"), section="overview", chart="none", unit=HH, order=18,
           link=_link()),
    Figure("persons", _("Residents"), section="overview", chart="none", unit=PP, order=19, link=_link()),
    Figure("population", _("Population (incidence base)"), section="overview", chart="none", unit=PP, order=19),
    Figure("poor_households_by_status", _("Poor households by status"), chart="pie", unit=HH, order=20,
           dims=_dims("status"), link=_link_dim("status", poor=1), pair="poor_persons_by_status"),
    Figure("poor_households_by_attribute", _("Poor households by attribute"), chart="bar", unit=HH, order=21,
           dims=_dims("attribute"), link=_link_dim("attribute", poor=1), pair="poor_persons_by_attribute"),
    Figure("poor_households_by_cause", _("Poor households by main cause"), chart="hbar", unit=HH, order=22,
           dims=_dims("cause"), link=_link_dim("cause", poor=1), pair="poor_persons_by_cause"),
    Figure("exited_households_by_year", _("Households out of poverty by year of exit"), chart="bar", unit=HH,
           order=23, higher_is_worse=False, link=_link_dim("year_exited", poor=1), pair="exited_persons_by_year"),
    # the persons' breakdowns are the second column of the households' tables (and sheets of the export)
    Figure("poor_persons_by_status", _("Poor persons by status"), chart="none", unit=PP, order=24,
           dims=_dims("status"), link=_link_dim("status", poor=1)),
    Figure("poor_persons_by_attribute", _("Poor persons by attribute"), chart="none", unit=PP, order=25,
           dims=_dims("attribute"), link=_link_dim("attribute", poor=1)),
    Figure("poor_persons_by_cause", _("Poor persons by main cause"), chart="none", unit=PP, order=26,
           dims=_dims("cause"), link=_link_dim("cause", poor=1)),
    Figure("exited_persons_by_year", _("Persons out of poverty by year of exit"), chart="none", unit=PP,
           order=27, higher_is_worse=False, link=_link_dim("year_exited", poor=1)),
    Figure("towns", _("Towns and streets"), section="villages", chart="none", order=39),
    Figure("villages", _("Villages"), section="villages", unit=_("villages"), order=40),
    Figure("communities", _("Communities"), section="villages", chart="none", unit=_("communities"), order=41),
    Figure("grids", _("Grids"), section="villages", unit=_("grids"), order=42),
    Figure("poor_villages", _("Poor villages"), section="villages", unit=_("villages"), column=True, order=43),
    Figure("poor_villages_below_exit_line", _("Poor villages under the exit incidence"), section="villages",
           unit=_("villages"), order=44, higher_is_worse=False,
           help=_("Poor villages whose poverty incidence is under the exit line (FUPIN_VILLAGE_EXIT_INCIDENCE).")),
    Figure("unlocated_poor_households", _("Poor households not located on the map"), section="quality", unit=HH,
           order=60, link=_link(poor=1, located=0)),
    Figure("households_without_grid", _("Households without a grid"), section="quality", unit=HH, order=61,
           link=_link(grid=0)),
    Figure("invalid_id_poor_persons", _("Poor persons with an invalid ID number"), section="quality", unit=PP,
           order=62),
    Figure("import_problems", _("Import problems awaiting a fix"), section="quality", chart="table",
           unit=_("problems"), order=63, dims=_import_problem_dims),
]

PROVIDER = FigureProvider("registry", compute=compute, figures=FIGURES, watches=("registry.", "batch."), order=10)


def _incidence(get):
    population = get("population")
    if not population:
        return None
    return round((get("current_poor_persons") or 0) * 100 / population, 2)


INCIDENCE = DerivedFigure(Figure("incidence", _("Poverty incidence"), section="overview", unit="%", column=True,
                                 order=16, decimals=2,
                                 help=_("Persons not yet out of poverty per hundred of the population.")), _incidence)
