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

The ID branch is `id_q` alone, so that the storage of ID numbers (plain, or blind indexes) changes in one place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import connection
from django.db.models import Q

from fupin.core import idnumber

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
        """Persons (fields `name`, `id_number`, `id_rev`) matching the entry; None when it asks nothing of them."""
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


def id_q(terms: SearchTerms, *, path: str = "") -> Q | None:
    """Persons (reached by `path`, e.g. "members__") whose ID number is the entry, or ends with it; None when the
    entry is no ID. Stored plain: `id_number` exactly, `id_rev` (the reversed number) by prefix for the tail."""
    q = None
    if terms.id_exact:
        q = Q(**{f"{path}id_number__in": terms.id_exact})
    if terms.id_tail:
        tail = prefix_q(f"{path}id_rev", terms.id_tail[::-1])
        q = tail if q is None else q | tail
    return q


# Names ---------------------------------------------------------------------------------------------------------------


def name_q(terms: SearchTerms, field: str) -> Q | None:
    """`field` (a name) begins with the entry; None when the entry is an ID or a code."""
    return prefix_q(field, terms.name_prefix) if terms.name_prefix else None


def person_q(term: SearchTerms | str, *, path: str = "") -> Q | None:
    """Persons matching the entry: ID exact or tail, or name prefix (fields `name`, `id_number`, `id_rev` under
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
