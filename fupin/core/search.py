"""One search semantics for names and ID fragments, for every list page and API endpoint.

What a search box entry means (`parse`):
- a full ID number (18 characters, or 15 old digits; spaces, apostrophes, full-width digits, lower-case x are typing
  noise) → that person exactly (the stored number as typed and its normalised 18-character form);
- 4 or more ID characters (digits, X) → the ID's **last** characters (a suffix: what people read off a card or a form
  when they do not copy the whole number; a region prefix would match a whole county); fewer than 4 → no ID search;
- anything else (Chinese text) → a name's **beginning** (exact names included; "阳" does not find 欧阳修);
- the entry verbatim also matches a code exactly (户编号, 户号, an order's or a report's number), where the list has one;
- free text (an order's title, a 民情 report's content) contains the entry (`text_q`).
A list of rows that belong to a household (lights, orders, 民情, procedures) finds their households with
`fupin.registry.selectors.household_ids_matching(user, entry)`: the same rule as the household list (户编号 or 户号,
the head's or a member's name, a member's ID).

Every prefix is asked in a form the database answers from an index (`prefix_q`): a range on SQLite (whose LIKE
ignores indexes on case-sensitive columns), LIKE 'x%' on PostgreSQL (Django adds varchar_pattern_ops indexes).

The ID branch is `id_q` alone, so that the storage of ID numbers changes in one place. The numbers are sealed at
rest (fupin/core/fields.py, docs/personal-information.md) and searched through keyed blind indexes of
`registry.Person`: the whole number (`id_index`), its last 4 (`id_tail4_index`) and last 6 characters
(`id_tail6_index`). A tail of 4 or 5 characters goes through the last-4 index, of 6 or more through the last-6 index;
a tail of 5, or of 7 or more, is therefore matched on its last 4 or 6 characters only: `id_tail_matches` narrows a
result read back (the person search does), a queryset filter keeps the wider match. Core knows the column only by
its name (the blind index's purpose), so it imports nothing from the registry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection
from django.db.models import Q

from fupin.core import crypto, idnumber

ID_TAIL_MIN = 4
_ID_CHARS = re.compile(r"^[0-9X]+$")
_ID_TYPING = re.compile(r"[^\d\sXx０-９Ｘｘ'\-]")


def prefix_q(field: str, prefix: str) -> Q:
    """`field` starts with `prefix`, in a form the database answers from an index."""
    if not prefix:
        return Q()
    if connection.vendor == "sqlite":
        # BINARY collation compares code points, so [p, p+1) is exactly the strings starting with p
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        return Q(**{f"{field}__gte": prefix, f"{field}__lt": upper})
    return Q(**{f"{field}__startswith": prefix})


@dataclass(frozen=True)
class SearchTerms:
    """What a search box entry means (see the module's docstring)."""

    text: str
    id_exact: tuple[str, ...] = ()
    id_tail: str = ""
    name_prefix: str = ""
    code_exact: str = ""

    @property
    def person_q(self) -> Q | None:
        """Persons (fields `name` and the ID's blind indexes) matching the entry; None when it asks nothing of them."""
        return person_q(self)


def parse(text: str) -> SearchTerms:
    """parse("123x") → the ID tail 123X; parse("张三") → name prefix; the entry is also tried as a code, verbatim."""
    text = (text or "").strip()
    if not text:
        return SearchTerms(text="")
    cleaned = idnumber.clean(text)
    if cleaned and _ID_CHARS.match(cleaned) and not _ID_TYPING.search(text):
        if len(cleaned) in (15, 18):
            exact = {cleaned}
            try:
                exact.add(idnumber.normalise(cleaned))
            except idnumber.IdNumberError:
                pass
            return SearchTerms(text=text, id_exact=tuple(sorted(exact)), code_exact=text)
        if len(cleaned) >= ID_TAIL_MIN:
            return SearchTerms(text=text, id_tail=cleaned, code_exact=text)
        return SearchTerms(text=text, code_exact=text)
    return SearchTerms(text=text, name_prefix=text, code_exact=text)


# The ID branch: the one place that knows how ID numbers are stored and searched -------------------------------------


ID_PURPOSE = "registry.person.id_number"  # the sealed column (fupin.registry.models.Person.id_number)
TAILS = (6, 4)  # the indexed tails, longest first


def _indexes(values: Iterable[str], purpose: str) -> list[str]:
    return [i for v in values if v for i in crypto.blind_indexes(v, purpose)]


def id_tail_width(tail: str) -> int:
    """Which indexed tail answers a typed tail (0: too short to search)."""
    return next((n for n in TAILS if len(tail) >= n), 0)


def id_number_q(term: str | Iterable[str] = (), *, tail: str = "", path: str = "") -> Q | None:
    """Persons (reached by `path`, e.g. "members__") whose ID number is `term` (one number or several: as typed and
    normalised) or ends with `tail`; None when neither is given."""
    q = None
    exact = [term] if isinstance(term, str) else list(term)
    if exact:
        q = Q(**{f"{path}id_index__in": _indexes(exact, ID_PURPOSE)})
    width = id_tail_width(tail)
    if width:
        part = Q(**{f"{path}id_tail{width}_index__in": _indexes([tail[-width:]], f"{ID_PURPOSE}.tail{width}")})
        q = part if q is None else q | part
    return q


def id_tail_matches(tail: str, number: str | None) -> bool:
    """The exact tail test for a person read back through the wider indexed tail."""
    return bool(number) and number.endswith(tail)


def id_q(terms: SearchTerms, *, path: str = "") -> Q | None:
    """Persons (reached by `path`, e.g. "members__") whose ID number is the entry, or ends with it (through the blind
    indexes; see the module's docstring); None when the entry is no ID."""
    return id_number_q(terms.id_exact, tail=terms.id_tail, path=path)


# Names ---------------------------------------------------------------------------------------------------------------


def name_q(terms: SearchTerms, field: str) -> Q | None:
    """`field` (a name) begins with the entry; None when the entry is an ID or a code."""
    return prefix_q(field, terms.name_prefix) if terms.name_prefix else None


def person_q(term: SearchTerms | str, *, path: str = "") -> Q | None:
    """Persons matching the entry: ID exact or tail, or name prefix (field `name` and the ID's blind indexes under
    `path`). None when the entry asks nothing of persons (empty, or fewer than 4 digits)."""
    terms = parse(term) if isinstance(term, str) else term
    return any_q(id_q(terms, path=path), name_q(terms, f"{path}name"))


def code_q(terms: SearchTerms | str, field: str) -> Q | None:
    """`field` (a code: 户编号, 户号, an order's or a report's number) is the entry verbatim; None for an empty one.
    Exactly, not by its beginning: digits are also an ID tail, and a code's beginning (its area) would match a county."""
    terms = parse(terms) if isinstance(terms, str) else terms
    return Q(**{field: terms.code_exact}) if terms.code_exact else None


def text_q(terms: SearchTerms | str, field: str) -> Q | None:
    """Free text (an order's title, a report's content) containing the entry: words, not names or codes."""
    terms = parse(terms) if isinstance(terms, str) else terms
    return Q(**{f"{field}__icontains": terms.text}) if terms.text else None


def any_q(*parts: Q | None) -> Q | None:
    """The OR of the parts that are not None (None when all are)."""
    out = None
    for q in parts:
        if q is not None:
            out = q if out is None else out | q
    return out
