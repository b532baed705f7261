"""The ID branch of search: persons whose ID number is a typed entry, or ends with it, answered from the keyed blind
indexes of `registry.Person` (the number itself is sealed at rest: fupin/core/fields.py, docs/personal-information.md).

`id_number_q(term)` takes what the search box parsed: one or more full numbers (the number as typed and its normalised
form) or an ID tail (4 or more characters). Exact numbers go through `id_index`; a tail of 4 or 5 characters through
the index of the last 4 (`id_tail4_index`), of 6 or more through the index of the last 6 (`id_tail6_index`). A tail of
5, or of 7 or more, is therefore matched on its last 4 or 6 characters only: `id_tail_matches` narrows a result read
back (the person search does), a queryset filter keeps the wider match. Core knows the column only by its name (the
blind index's purpose), so it imports nothing from the registry.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q

from fupin.core import crypto

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
