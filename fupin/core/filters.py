"""One declaration of a list's filters, read alike by its server-rendered page and by its API endpoint.

A list declares its filters once, next to its selector (`fupin/dispatch/filters.py`)::

    ORDER_FILTERS = FilterSet(
        Filter("state", _("State"), choices=State.choices),
        Filter("order_type", _("Type"), choices=order_types, aliases=("type",)),   # choices(user) from the database
        Filter("overdue", _("Overdue"), kind="flag"),
        Filter("start", _("From"), kind="date", field="reported_at__date__gte"),
        Filter("q", _("Search"), kind="text", apply=search_orders),                   # apply(qs, value, user)
    )

Each filter has a kind (how its value is read and checked), its choices (a list, or a function of the user: what the
user may pick), and how it narrows a queryset (`field`, a lookup, or `apply(qs, value, user)`; neither: the list's
selector takes the value as a keyword of the same name). A selector applies the declared lookups of the values it
is given with `FILTERS.narrow(qs, values, user)`, so `order_list(user, state="open")` filters as the page does.

- The page: `f = ORDER_FILTERS.read(request.GET, request.user)`. `f.values` has every filter's value (its empty value
  when absent or refused), `f.apply(qs)` narrows by the declared lookups, `f.form` is what the user typed (for the
  form), and `f.errors` says in Chinese what was refused (`f.tell(request)` puts it on the page as messages): a bad
  value in the address never makes a 500, it is left out and said.
- The API: `filters: Query[ORDER_FILTERS.schema("OrderQuery", limit=(Limit, 200))]` declares the parameters in
  the OpenAPI document, and `ORDER_FILTERS.read_api(filters, request.user)` answers 422 (`loc` ["query", name]) on a
  refused value, as pydantic does for a bounded limit.

Kinds: `choice` (one of the choices), `choices` (several, separated by commas), `codes` (several codes separated by
commas, not checked against a list: imported data may hold codes its code list lacks, and the dashboards link to
them), `text` (at most `max_length` characters, no NUL), `date` (YYYY-MM-DD), `flag` (1/0, true/false, on/off),
`int` (a whole number from `min` to `max`), `area` (a division or grid code inside the user's jurisdiction, read as
the code prefix it stands for).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from fupin.core import scoping

KINDS = ("choice", "choices", "codes", "text", "date", "flag", "int", "area")
TRUE = ("1", "true", "on", "yes")
FALSE = ("0", "false", "off", "no")
EMPTY: dict[str, Any] = {"choice": "", "choices": [], "codes": [], "text": "", "date": None, "flag": False, "int": None,
                         "area": ""}


class FilterDeclarationError(ValueError):
    """A filter declared wrongly (an unknown kind, choices on a kind without them): fails at import."""


@dataclass(frozen=True)
class Filter:
    name: str
    label: Any = ""
    kind: str = "choice"
    choices: Sequence[tuple[str, Any]] | Callable[[Any], Iterable[tuple[str, Any]]] | None = None
    field: str | None = None
    apply: Callable[[Any, Any, Any], Any] | None = None
    aliases: tuple[str, ...] = ()
    max_length: int = 50
    min: int | None = None
    max: int | None = None
    default: Any = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise FilterDeclarationError(f"filter {self.name}: unknown kind {self.kind!r} (one of {KINDS})")
        if self.kind in ("choice", "choices") and self.choices is None:
            raise FilterDeclarationError(f"filter {self.name}: a {self.kind} filter needs choices")
        if self.kind not in ("choice", "choices") and self.choices is not None:
            raise FilterDeclarationError(f"filter {self.name}: a {self.kind} filter takes no choices")
        if self.field and self.apply:
            raise FilterDeclarationError(f"filter {self.name}: field or apply, not both")

    @property
    def empty(self) -> Any:
        return self.default if self.default is not None else EMPTY[self.kind]

    def options(self, user) -> list[tuple[str, Any]]:
        """The choices the user may pick, as (value, label)."""
        found = self.choices(user) if callable(self.choices) else self.choices
        return [(str(v), label) for v, label in (found or ())]

    def raw(self, data: Mapping[str, Any]) -> str:
        for key in (self.name, *self.aliases):
            value = data.get(key)
            if value is not None and value != "":
                return value if isinstance(value, str) else str(value)
        return ""

    def clean(self, raw: str, user) -> Any:
        """The value of `raw` (non-empty), or ValueError with the Chinese reason."""
        text = raw.strip()
        if "\x00" in text:
            raise ValueError(_("contains a character that cannot be searched"))
        if self.kind == "codes":
            values = [v.strip() for v in text.split(",") if v.strip()]
            if len(text) > self.max_length:
                raise ValueError(_("is longer than %(n)d characters") % {"n": self.max_length})
            return values
        if self.kind == "text":
            if len(text) > self.max_length:
                raise ValueError(_("is longer than %(n)d characters") % {"n": self.max_length})
            return text
        if self.kind in ("choice", "choices"):
            allowed = {v for v, _label in self.options(user)}
            values = [v.strip() for v in text.split(",") if v.strip()] if self.kind == "choices" else [text]
            wrong = [v for v in values if v not in allowed]
            if wrong:
                raise ValueError(_("“%(value)s” is not one of the choices") % {"value": wrong[0][:30]})
            return values if self.kind == "choices" else text
        if self.kind == "flag":
            if text.lower() in TRUE:
                return True
            if text.lower() in FALSE:
                return False
            raise ValueError(_("must be 1 or 0"))
        if self.kind == "date":
            try:
                return dt.date.fromisoformat(text)
            except ValueError:
                raise ValueError(_("must be a date written as 2024-03-01")) from None
        if self.kind == "int":
            if not text.lstrip("-").isdigit() or len(text) > 18:
                raise ValueError(_("must be a whole number"))
            number = int(text)
            if (self.min is not None and number < self.min) or (self.max is not None and number > self.max):
                raise ValueError(_("must be between %(min)s and %(max)s") % {"min": self.min, "max": self.max})
            return number
        # area: a division (6 to 12 digits) or grid (15 digits) code inside the user's jurisdiction
        if not text.isdigit() or len(text) not in (6, 9, 12, 15):
            raise ValueError(_("must be a division or grid code"))
        place = text[:6] if text.endswith("000000") and len(text) == 12 else (
            text[:9] if text.endswith("000") and len(text) == 12 else text)
        if not scoping.overlaps(user, place):
            raise ValueError(_("is outside your jurisdiction"))
        return scoping.narrowed(user, place)

    def narrow(self, qs, value, user):
        if self.apply is not None:
            return self.apply(qs, value, user)
        if self.field:
            lookup = f"{self.field}__in" if self.kind == "choices" else self.field
            return qs.filter(**{lookup: value})
        return qs


@dataclass
class Filtered:
    """What `FilterSet.read` found: the values (every filter's, its empty value when absent or refused), what was
    typed (`form`) and what was refused (`errors`: name -> Chinese message)."""

    filters: FilterSet
    user: Any
    values: dict[str, Any]
    form: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    given: tuple[str, ...] = ()

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def apply(self, qs, *, skip: Iterable[str] = ()):
        """`qs` narrowed by every given filter that declares how (`field` or `apply`), but those named in `skip`."""
        for f in self.filters:
            if f.name in self.given and (f.field or f.apply) and f.name not in skip:
                qs = f.narrow(qs, self.values[f.name], self.user)
        return qs

    def tell(self, request) -> None:
        """Each refusal as a warning message on the page."""
        from django.contrib import messages

        for text in self.errors.values():
            messages.warning(request, text)


class FilterSet:
    def __init__(self, *filters: Filter) -> None:
        names = [n for f in filters for n in (f.name, *f.aliases)]
        if len(set(names)) != len(names):
            raise FilterDeclarationError(f"a filter name is declared twice: {names}")
        self.filters = filters

    def __iter__(self):
        return iter(self.filters)

    def __getitem__(self, name: str) -> Filter:
        return next(f for f in self.filters if f.name == name)

    def replacing(self, *filters: Filter) -> FilterSet:
        """The same set with the filters of the same names replaced (a page that offers other choices)."""
        new = {f.name: f for f in filters}
        return FilterSet(*(new.get(f.name, f) for f in self.filters))

    def narrow(self, qs, values: Mapping[str, Any], user, *, skip: Iterable[str] = ()):
        """`qs` narrowed by the declared lookups of the filters whose value in `values` is set (not empty, not
        False): what a selector does with the keywords it is given (`order_list(user, state="open")`)."""
        unknown = set(values) - {f.name for f in self.filters}
        if unknown:
            raise TypeError(f"no such filter: {', '.join(sorted(unknown))}")
        for f in self.filters:
            value = values.get(f.name)
            if value not in (None, "", [], False) and (f.field or f.apply) and f.name not in skip:
                qs = f.narrow(qs, value, user)
        return qs

    def read(self, data: Mapping[str, Any], user) -> Filtered:
        values, form, errors, given = {}, {}, {}, []
        for f in self.filters:
            raw = f.raw(data)
            form[f.name] = raw
            values[f.name] = f.empty
            if not raw.strip():
                continue
            try:
                values[f.name] = f.clean(raw, user)
                given.append(f.name)
            except ValueError as exc:
                errors[f.name] = _("%(label)s: %(reason)s; this filter is not applied") % {
                    "label": f.label or f.name, "reason": exc}
        return Filtered(self, user, values, form, errors, tuple(given))

    def read_api(self, params: Any, user) -> Filtered:
        """As `read`, from the endpoint's query schema (or a mapping); a refused value answers 422."""
        from ninja.errors import ValidationError

        data = params if isinstance(params, Mapping) else params.dict()
        found = self.read(data, user)
        if found.errors:
            raise ValidationError([{"loc": ["query", name], "msg": found.errors[name], "type": "value_error"}
                                   for name in found.errors])
        return found

    def schema(self, name: str, **extra: Any):
        """A ninja query Schema with a text parameter per filter (its kind and static choices in the description)
        plus `extra` fields given as types or (type, default), e.g. limit=(Limit, 50)."""
        from ninja import Schema
        from pydantic import Field, create_model

        fields: dict[str, Any] = {}
        for f in self.filters:
            about = {"choice": _describe_choices(f), "choices": _describe_choices(f, several=True),
                     "codes": "codes separated by commas",
                     "text": f"text, at most {f.max_length} characters", "date": "a date, YYYY-MM-DD",
                     "flag": "1 or 0", "int": f"a whole number from {f.min} to {f.max}",
                     "area": "a division (6 to 12 digits) or grid (15 digits) code"}[f.kind]
            fields[f.name] = (str, Field("", description=about))
        for key, spec in extra.items():
            fields[key] = spec if isinstance(spec, tuple) else (spec, ...)
        return create_model(name, __base__=Schema, **fields)


def _describe_choices(f: Filter, *, several: bool = False) -> str:
    lead = "codes separated by commas" if several else "one code"
    if callable(f.choices):
        return f"{lead} (the choices depend on the data and the user)"
    return f"{lead}: " + ", ".join(str(v) for v, _label in f.choices or ())
