"""The tracking-light rules as pure functions over facts (no database inside), so that the per-write refresh and the
county-wide recompute decide the same way.

    >>> rules = Rules()
    >>> evaluate(Facts(household_id=1, last_record_on=date(2026, 1, 1), has_cadre=True), rules, date(2026, 1, 21))
    Verdict(colour='yellow', days=20, since=datetime.date(2026, 1, 1), reasons=[...])

Days are calendar days in Asia/Shanghai: the caller passes today's local date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from fupin.assistance.choices import COLOUR_RANK, Colour

date = dt.date


@dataclass(frozen=True)
class Rules:
    """Thresholds: green 0..yellow_from-1, yellow yellow_from..red_from-1, red from red_from days."""

    yellow_from_days: int = 20
    red_from_days: int = 31
    no_cadre_colour: str = Colour.RED
    overdue_measure_colour: str = Colour.YELLOW
    finding_days: int = 15
    finding_colour: str = Colour.YELLOW


@dataclass
class Facts:
    """What the rules need to know about one household."""

    household_id: int
    last_record_on: dt.date | None = None
    paired_since: dt.date | None = None  # the household's first pairing start
    has_cadre: bool = False
    overdue_measures: int = 0
    oldest_overdue_target: dt.date | None = None
    finding_since: dt.date | None = None  # the oldest comparison finding still unverified
    conditions: list[dict] = field(default_factory=list)  # other capabilities' reasons (providers.conditions)


@dataclass
class Verdict:
    colour: str
    days: int | None
    since: dt.date | None
    reasons: list[dict] = field(default_factory=list)


def _worse(a: str, b: str) -> str:
    return a if COLOUR_RANK[a] >= COLOUR_RANK[b] else b


def colour_for_days(days: int, rules: Rules) -> str:
    if days >= rules.red_from_days:
        return Colour.RED
    if days >= rules.yellow_from_days:
        return Colour.YELLOW
    return Colour.GREEN


def evaluate(facts: Facts, rules: Rules, today: dt.date) -> Verdict:
    """The light of one household today, with every reason that is not green (worst first)."""
    colour = Colour.GREEN
    reasons: list[dict] = []
    since = facts.last_record_on or facts.paired_since
    days = max(0, (today - since).days) if since else None
    if days is not None:
        c = colour_for_days(days, rules)
        if c != Colour.GREEN:
            reasons.append({"code": "stale", "colour": c, "days": days, "has_record": bool(facts.last_record_on)})
            colour = _worse(colour, c)
    if not facts.has_cadre:
        reasons.append({"code": "no_cadre", "colour": rules.no_cadre_colour})
        colour = _worse(colour, rules.no_cadre_colour)
    if facts.overdue_measures:
        oldest = facts.oldest_overdue_target
        reasons.append({"code": "overdue_measure", "colour": rules.overdue_measure_colour,
                        "count": facts.overdue_measures,
                        "days": (today - oldest).days if oldest else 0})
        colour = _worse(colour, rules.overdue_measure_colour)
    if facts.finding_since is not None:
        waited = (today - facts.finding_since).days
        if waited >= rules.finding_days:
            reasons.append({"code": "finding", "colour": rules.finding_colour, "days": waited})
            colour = _worse(colour, rules.finding_colour)
    for condition in facts.conditions:
        if condition.get("colour") in COLOUR_RANK and condition["colour"] != Colour.GREEN:
            reasons.append(dict(condition))
            colour = _worse(colour, condition["colour"])
    reasons.sort(key=lambda r: -COLOUR_RANK[r["colour"]])
    return Verdict(colour=colour, days=days, since=since, reasons=reasons)


def describe(reason: dict) -> tuple[str, str]:
    """(what is wrong, the action that clears it) for a stored reason, in the active language."""
    code = reason.get("code")
    n = reason.get("days") or 0
    if code == "stale":
        if reason.get("has_record", True):
            text = ngettext("No assistance record for %(days)d day", "No assistance record for %(days)d days",
                            n) % {"days": n}
        else:
            text = ngettext("No assistance record in the %(days)d day since pairing began",
                            "No assistance record in the %(days)d days since pairing began", n) % {"days": n}
        return text, _("Enter an assistance record (a visit or a call)")
    if code == "no_cadre":
        return _("No responsible cadre"), _("Pair the household with a responsible cadre")
    if code == "overdue_measure":
        count = reason.get("count") or 0
        text = ngettext("%(count)d plan measure past its target date", "%(count)d plan measures past their target date",
                        count) % {"count": count}
        return text, _("Complete the overdue measures or set a new target date")
    if code == "finding":
        return (ngettext("A comparison finding unverified for %(days)d day",
                         "A comparison finding unverified for %(days)d days", n) % {"days": n},
                _("Verify the comparison finding"))
    from fupin.assistance.providers import describe_condition

    described = describe_condition(reason)
    if described is not None:
        return described
    return str(code), ""
