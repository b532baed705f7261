"""Reads of the registry. Every function takes the user and starts from `.restrict(user)`.

Search (`search_persons`, `household_list(q=...)`, `household_ids_matching`) follows the one search semantics of
fupin/core/search.py: a full ID number, the last 4 or more characters of an ID number, a 户编号 or 户号 exactly, or a
name (exact or its beginning), each answered from an index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from fupin.core import extensions, search
from fupin.core.fields import sealed_names
from fupin.geo.models import Division
from fupin.registry.models import Household, ImportProblem, MemberChange, Person, PovertyLine, VillageProfile

NOT_OUT = ("0", "2", "3")  # 未脱贫, 预脱贫, 返贫: still counted as poor
_UUID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")



def search_persons(user, text: str, *, limit: int = 50) -> list[Person]:
    """Persons matching a search entry (ID exact, ID tail, name prefix), within the user's jurisdiction."""
    terms = search.parse(text)
    q = terms.person_q
    if q is None:
        return []
    # the list shows a person's name, ID and household: the other sealed values stay closed (read on access if wanted)
    qs = (Person.objects.restrict(user).filter(q).select_related("household")
          .defer(*sealed_names(Person, keep=("id_number",)), *sealed_names(Household, "household__")))
    if not terms.id_tail or len(terms.id_tail) in search.TAILS:
        return list(qs[:limit])
    # a tail of 5 or 7+ characters was matched on its indexed last 4 or 6: keep those that end with all of it
    return [p for p in qs[: limit * 20] if search.id_tail_matches(terms.id_tail, p.id_number)][:limit]


# Household list filters: other capabilities add theirs (warning light, pairing cadre) at the extension point
# registry.list_filter (`extensions.HouseholdFilter`: `?<key>=<value>` on /households/ and the API).

ExtraFilter = extensions.HouseholdFilter


def extra_filters() -> list[extensions.HouseholdFilter]:
    return extensions.registered("registry.list_filter")


def household_list(user, *, area_prefix: str | None = None, grid: str = "", attribute: str = "", cause: str = "",
                   status: str = "", registered_only: bool = True, q: str = "", include_dissolved: bool = False,
                   extra: dict[str, str] | None = None) -> QuerySet:
    """Households the user may see, filtered. `cause` matches the main or another cause."""
    qs = Household.objects.restrict(user)
    if area_prefix:
        qs = qs.filter(area_code__startswith=area_prefix)
    if grid:
        qs = qs.filter(area_code=grid)
    if registered_only:
        qs = qs.filter(is_registered_poor=True)
    if not include_dissolved:
        qs = qs.filter(dissolved_on__isnull=True)
    if attribute:
        qs = qs.filter(attribute=attribute)
    if cause:
        if connection.vendor == "postgresql":
            qs = qs.filter(Q(main_cause=cause) | Q(other_causes__contains=[cause]))
        else:  # SQLite has no JSON containment: match the quoted code in the stored text
            qs = qs.filter(Q(main_cause=cause) | Q(other_causes__icontains=f'"{cause}"'))
    if status:
        qs = qs.filter(poverty_status=status)
    if q:
        qs = qs.filter(pk__in=household_ids_matching(user, q))
    for key, value in (extra or {}).items():
        f = extensions.lookup("registry.list_filter", key)
        if f is not None and value:
            qs = f.apply(qs, value, user)
    return (qs.select_related("village", "village__parent", "grid").defer(*_PLACE_SHAPES)
            .order_by("area_code", "poor_code", "id"))


SEARCH_LIMIT = 5000


def household_ids_matching(user, text: str, *, rows_scoped: bool = False) -> list[int]:
    """Households matching a search entry (fupin/core/search.py's semantics: 户编号 or 户号 exactly, the head's or a
    member's name by prefix, a member's ID exact or by tail, the uuid), found part by part on indexed columns (one OR
    over several columns and a subquery would make the database scan the table). At most SEARCH_LIMIT per part.

    `rows_scoped`: the caller filters rows it has already restricted (a department's orders, whose households lie
    outside a department handler's jurisdiction), so the households are not restricted again."""
    terms = search.parse(text)
    households = Household.objects.all() if rows_scoped else Household.objects.restrict(user)
    persons = Person.objects.all() if rows_scoped else Person.objects.restrict(user)
    ids: set[int] = set()
    # exact keys: looked up alone (the list's queryset applies the jurisdiction), so that SQLite takes the index even
    # when most households share one value (an empty 户号)
    if terms.code_exact:
        ids.update(Household.objects.filter(search.code_q(terms, "poor_code")).values_list("pk", flat=True))
        ids.update(Household.objects.filter(search.code_q(terms, "hukou_no")).values_list("pk", flat=True)
                   [:SEARCH_LIMIT])
    if _UUID.match(text.strip()):
        ids.update(Household.objects.filter(uuid=text.strip()).values_list("pk", flat=True))
    person_q = terms.person_q
    if person_q is not None:
        ids.update(persons.filter(person_q).exclude(household__isnull=True)
                   .values_list("household_id", flat=True)[:SEARCH_LIMIT])
    if terms.name_prefix:
        ids.update(households.filter(search.name_q(terms, "head_name"))
                   .values_list("pk", flat=True)[:SEARCH_LIMIT])
    return sorted(ids)


# The boundaries of a household's village, town and grid (GeoJSON polygons, parsed on every read): names are shown
# with a household, its places' shapes only on the map, which reads them itself.
_PLACE_SHAPES = ("village__boundary", "village__parent__boundary", "grid__boundary")


def household_get(user, key: str) -> Household:
    """The household at /households/<key>/ (户编号 verbatim, or the uuid of a household without one); 404 when it
    does not exist or lies outside the user's jurisdiction."""
    qs = Household.objects.restrict(user).select_related("village", "village__parent", "grid").defer(*_PLACE_SHAPES)
    found = list(qs.filter(poor_code=key)[:1])  # unique: no ORDER BY needed (first() would add one)
    if not found and _UUID.match(key or ""):
        found = list(qs.filter(uuid=key)[:1])
    if not found:
        raise Http404(_("No such household, or outside your jurisdiction"))
    return found[0]


def household_members(household: Household, *, include_former: bool = False) -> list[Person]:
    """Living members first (head first), then the deceased; with include_former also those who left."""
    members = list(Person.objects.filter(household=household).order_by("-is_alive", "id"))
    members.sort(key=lambda p: (not p.is_alive, p.relationship != "户主"))
    if include_former:
        left = Person.objects.filter(changes__from_household=household).exclude(household=household).distinct()
        members += [p for p in left if p not in members]
    return members


def member_changes(household: Household) -> QuerySet:
    """The household's membership changes, newest first, with the person and both households (their names and keys:
    the sealed values of the change, the person and the households stay closed unless asked for)."""
    return (MemberChange.objects.filter(Q(from_household=household) | Q(to_household=household))
            .select_related("person", "from_household", "to_household")
            .defer(*sealed_names(MemberChange), *sealed_names(Person, "person__"),
                   *sealed_names(Household, "from_household__"), *sealed_names(Household, "to_household__"))
            .order_by("-date", "-id"))


def person_list(user, *, area_prefix: str | None = None, q: str = "", household_key: str = "",
                alive_only: bool = True) -> QuerySet:
    qs = Person.objects.restrict(user).filter(household__isnull=False)
    if area_prefix:
        qs = qs.filter(area_code__startswith=area_prefix)
    if alive_only:
        qs = qs.filter(is_alive=True)
    if household_key:
        qs = qs.filter(Q(household__poor_code=household_key) | (Q(household__uuid=household_key)
                                                                if _UUID.match(household_key) else Q(pk__in=[])))
    if q:
        person_q = search.parse(q).person_q
        qs = qs.filter(person_q) if person_q is not None else qs.none()
    return qs.select_related("household").order_by("area_code", "household_id", "id")


# Income against the poverty line ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class IncomeCheck:
    year: int | None
    per_capita: Decimal
    line: Decimal | None

    @property
    def above(self) -> bool | None:
        return None if self.line is None else self.per_capita > self.line

    @property
    def ratio(self) -> Decimal | None:
        if not self.line:
            return None
        return (self.per_capita / self.line).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def income_check(household: Household, *, lines: dict[int, Decimal] | None = None) -> IncomeCheck:
    """Per-capita net income against the poverty line of the household's income year (else the latest line)."""
    lines = lines if lines is not None else dict(PovertyLine.objects.values_list("year", "amount"))
    year = household.income_year or (max(lines) if lines else None)
    return IncomeCheck(year=year, per_capita=household.per_capita_net_income, line=lines.get(year) if year else None)


# Villages ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class VillageFigures:
    village: Division
    year: int | None
    registered_households: int
    poor_households_not_out: int
    poor_persons_not_out: int
    residents: int
    rural_population: int
    population_source: str  # "profile" (the village form) or "registry" (people registered)

    @property
    def incidence(self) -> Decimal | None:
        """贫困发生率 in percent: poor persons not yet out / rural population."""
        if not self.rural_population:
            return None
        return (Decimal(self.poor_persons_not_out) * 100 / self.rural_population).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP)


def village_figures(village: Division, *, year: int | None = None) -> VillageFigures:
    """The figures behind a village's poverty incidence, computed from the registry; the rural population is the
    village form's when it gives one, else the count of living registered residents."""
    hh = Household.objects.filter(area_code__startswith=village.code, dissolved_on__isnull=True)
    poor = hh.filter(is_registered_poor=True)
    people = Person.objects.filter(area_code__startswith=village.code, household__isnull=False, is_alive=True)
    poor_persons = people.filter(household__is_registered_poor=True, household__poverty_status__in=NOT_OUT,
                                 household__dissolved_on__isnull=True).count()
    residents = people.count()
    profiles = VillageProfile.objects.filter(village=village)
    profile = (profiles.filter(year=year) if year else profiles.order_by("-year")).first()
    rural = (profile.rural_population or profile.population_total) if profile else None
    return VillageFigures(
        village=village, year=profile.year if profile else year,
        registered_households=poor.count(),
        poor_households_not_out=poor.filter(poverty_status__in=NOT_OUT).count(),
        poor_persons_not_out=poor_persons, residents=residents,
        rural_population=rural or residents, population_source="profile" if rural else "registry")


def village_incidence_table(user, *, area_prefix: str | None = None) -> list[dict]:
    """Every village the user may see with its poor persons not yet out, residents and incidence (two queries)."""
    villages = Division.objects.restrict(user).filter(level="village").order_by("code")
    if area_prefix:
        villages = villages.filter(code__startswith=area_prefix)
    villages = list(villages.select_related("parent"))
    if not villages:
        return []
    prefix = area_prefix or ""
    rows = (Person.objects.restrict(user).filter(household__isnull=False, is_alive=True,
                                                 area_code__startswith=prefix)
            .values("household__village_id")
            .annotate(residents=Count("id"),
                      poor=Count("id", filter=Q(household__is_registered_poor=True,
                                                household__poverty_status__in=NOT_OUT,
                                                household__dissolved_on__isnull=True))))
    by_village = {r["household__village_id"]: r for r in rows}
    profiles = {}
    for p in VillageProfile.objects.filter(village__in=villages).order_by("village_id", "year"):
        profiles[p.village_id] = p  # the latest year wins
    out = []
    for v in villages:
        r = by_village.get(v.pk, {"residents": 0, "poor": 0})
        prof = profiles.get(v.pk)
        rural = (prof.rural_population or prof.population_total) if prof else None
        population = rural or r["residents"]
        out.append({"village": v, "poor_persons": r["poor"], "residents": r["residents"], "population": population,
                    "population_source": "profile" if rural else "registry",
                    "incidence": (Decimal(r["poor"]) * 100 / population).quantize(Decimal("0.01"))
                    if population else None})
    return out


# Import problems -------------------------------------------------------------------------------------------------

def import_problems(user, *, batch_id: int | None = None, kind: str = "") -> QuerySet:
    """Data-quality problems of roster imports, scoped; the latest import batch when none is named."""
    qs = ImportProblem.objects.restrict(user)
    if batch_id is None:
        batch_id = (ImportProblem.objects.restrict(user).order_by("-batch_id")
                    .values_list("batch_id", flat=True).first())
    qs = qs.filter(batch_id=batch_id) if batch_id else qs.none()
    if kind:
        qs = qs.filter(kind=kind)
    return qs.select_related("household", "batch").order_by("row", "id")


_SEE_ALSO = re.compile(r"(另见户编号)([^)),]+)")


def problem_texts(user, texts: list[str]) -> list[str]:
    """Problem texts as `user` may read them: a duplicate-person problem names the other households' 户编号 so the
    importer can resolve it, but a household outside the user's jurisdiction is named only as such."""
    mentioned = {code for t in texts for m in _SEE_ALSO.finditer(t or "") for code in m.group(2).split("、")}
    if not mentioned:
        return list(texts)
    visible = set(Household.objects.restrict(user).filter(poor_code__in=mentioned).values_list("poor_code", flat=True))

    def rewrite(m: re.Match) -> str:
        codes = m.group(2).split("、")
        shown = [c for c in codes if c in visible]
        hidden = len(codes) - len(shown)
        parts = shown + ([f"辖区外{hidden}户"] if hidden else [])
        return m.group(1) + "、".join(parts)

    return [_SEE_ALSO.sub(rewrite, t or "") for t in texts]


# Stats (`fupin stats --json`) ---------------------------------------------------------------------------------------

def registry_stats() -> dict:
    """poor_villages: villages marked 贫困村; poor_households_by_status: registered households (not dissolved) per
    status code, only codes that occur."""
    by_status = (Household.objects.filter(is_registered_poor=True, dissolved_on__isnull=True)
                 .values_list("poverty_status").annotate(n=Count("id")).order_by())
    return {
        "poor_villages": Division.objects.filter(level="village", is_poor_village=True).count(),
        "poor_households_by_status": {status or "": n for status, n in by_status if n},
    }


def register_filter(key: str, label, choices, apply, order: int = 100) -> None:
    """Deprecated (compatibility): `extensions.register(extensions.HouseholdFilter(key, label, choices, apply))`."""
    extensions.register(extensions.HouseholdFilter(key=key, label=label, choices=choices, apply=apply, order=order))
