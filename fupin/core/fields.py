"""Model fields kept encrypted in the database (fupin/core/crypto.py), and the blind index that makes them searchable
by exact value.

- `EncryptedTextField`: text sealed with the active key; the column holds `$e1$<key id>$...`. An empty value stays
  empty (so "has a phone" stays a query), every other value is sealed, with the column ("app.model.field") as
  additional data.
- `EncryptedJSONField`: a JSON value (a list of health codes), sealed the same way.
- `BlindIndexField(source=...)`: the HMAC of the source field's value, kept beside it; filled on save and by the bulk
  inserter; searched with `blind_q(Model, "phone", value)`, under every index key (a rotation in progress still
  finds every row).

The only lookups an encrypted field answers are `exact`/`isnull` against the empty value; any other lookup raises,
so a query that would silently compare ciphertexts fails loudly in tests instead. Values never appear in errors.
"""

from __future__ import annotations

import json

from django.core.exceptions import FieldError
from django.db import models
from django.db.models import ExpressionWrapper, F, Q
from django.db.models.lookups import Exact, In, IsNull
from django.utils.translation import gettext as _

from fupin.core import crypto

ENCRYPTED_NAMES: set[str] = set()  # field names whose values the audit trail does not copy (fupin/core/audit.py)


def purpose_of(field) -> str:
    return f"{field.model._meta.label_lower}.{field.name}"


class _EncryptedMixin:
    encrypted = True

    def __init__(self, *args, audit_name: bool = True, **kwargs):
        # audit_name=False: a generic name ("value", "data", "payload") that other models' audited dicts use for
        # values that are not sealed; the audit trail then redacts this field by field (audit.snapshot), not by name
        self.audit_name = audit_name
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if not self.audit_name:
            kwargs["audit_name"] = False
        return name, path, args, kwargs

    def contribute_to_class(self, cls, name, *args, **kwargs):
        super().contribute_to_class(cls, name, *args, **kwargs)
        if self.audit_name:
            ENCRYPTED_NAMES.add(name)
        self.purpose = purpose_of(self)  # the additional data: the column's name, fixed once the model is known

    def get_internal_type(self):
        return "TextField"

    def get_lookup(self, lookup_name):
        if lookup_name == "exact":
            return EncryptedExact
        if lookup_name == "in":
            return EncryptedIn
        if lookup_name == "isnull":
            return IsNull
        return None

    def get_transform(self, lookup_name):
        return None

    def seal(self, plain: str) -> str:
        return crypto.encrypt(plain, self.purpose)

    def seal_many(self, texts) -> list:
        """Many texts of this column (from `db_text`) sealed at once (the bulk writer's per-column step): what
        `seal` would give value by value; empty and None stay as they are."""
        return crypto.encrypt_many(texts, self.purpose)


def _through_index(lookup, values, compiler, connection):
    """`field = value` / `field IN values` on a sealed field that has a blind index: asked of the index (under every
    index key), so `Person.objects.filter(id_number=n)` keeps working; without an index the lookup is refused."""
    target = lookup.lhs.target
    index = next((f for f in blind_fields(target.model) if f.source == target.name and not f.tail), None)
    if index is None or not hasattr(lookup.lhs, "alias"):
        raise FieldError(_("The encrypted field %(field)s cannot be queried by value: use the blind index (blind_q)") % {"field": target.name})
    wanted = []
    for v in values:
        v = "" if v is None else str(v)
        wanted += crypto.blind_indexes(index.normalise(v) if index.normalise else v, index.purpose)
    if not wanted:
        return "1 = 0", []
    col = f"{compiler.quote_name_unless_alias(lookup.lhs.alias)}.{connection.ops.quote_name(index.column)}"
    return f"{col} IN ({', '.join(['%s'] * len(wanted))})", wanted


class EncryptedExact(Exact):
    """`field=""` compares the column (an empty value is stored empty); any other value is asked of the field's blind
    index (`_through_index`), or refused when it has none."""

    def get_prep_lookup(self):
        return self.rhs

    def as_sql(self, compiler, connection):
        if self.rhs in ("", None):
            lhs, params = self.process_lhs(compiler, connection)
            return f"{lhs} = %s", [*params, ""]
        return _through_index(self, [self.rhs], compiler, connection)


class EncryptedIn(In):
    """`field__in=[...]`: asked of the blind index like `EncryptedExact` (refused without one)."""

    def get_prep_lookup(self):
        return self.rhs

    def as_sql(self, compiler, connection):
        values = [v for v in self.rhs if v not in ("", None)]
        if len(values) != len(list(self.rhs)):
            raise FieldError(_("Encrypted field %(field)s: an in query cannot contain empty values") % {"field": self.lhs.target.name})
        return _through_index(self, values, compiler, connection)


class EncryptedTextField(_EncryptedMixin, models.TextField):
    """Text sealed at rest. `max_length` is checked on the plain value (the form and the model's validation)."""

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return crypto.decrypt(value, self.purpose)

    def get_db_prep_value(self, value, connection, prepared=False):
        value = self.db_text(value)
        if value is None or value == "":
            return value
        return self.seal(value)

    def db_text(self, value):
        """The text that is sealed for `value` (None stays None, an empty value stays empty)."""
        value = self.get_prep_value(value)
        return value if value is None or value == "" else str(value)

    def from_db_many(self, values) -> list:
        """`from_db_value` over a column's stored values, opened at once (crypto.decrypt_many)."""
        return crypto.decrypt_many(values, self.purpose)


class EncryptedJSONField(_EncryptedMixin, models.TextField):
    """A JSON value sealed at rest; reads back as the Python value (the default when empty)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("editable", True)
        super().__init__(*args, **kwargs)

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        if value == "":
            return self.get_default()
        text = crypto.decrypt(value, self.purpose)
        try:
            return json.loads(text)
        except ValueError:
            raise crypto.CryptoError(_("%(purpose)s: not valid JSON") % {"purpose": self.purpose}) from None

    def from_db_many(self, values) -> list:
        """`from_db_value` over a column's stored values, opened at once (crypto.decrypt_many)."""
        out = []
        for text in crypto.decrypt_many(values, self.purpose):
            if text is None or text == "":
                out.append(None if text is None else self.get_default())
                continue
            try:
                out.append(json.loads(text))
            except ValueError:
                raise crypto.CryptoError(_("%(purpose)s: not valid JSON") % {"purpose": self.purpose}) from None
        return out

    def to_python(self, value):
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value

    def get_prep_value(self, value):
        return value

    def get_db_prep_value(self, value, connection, prepared=False):
        if value is None:
            return None
        return self.seal(self.db_text(value))

    def db_text(self, value):
        """The JSON text that is sealed for `value` (None stays None)."""
        return None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    def value_to_string(self, obj):
        return json.dumps(self.value_from_object(obj), ensure_ascii=False)

    def formfield(self, **kwargs):
        from django import forms

        return super().formfield(**{"form_class": forms.JSONField, **kwargs})


class BlindIndexField(models.CharField):
    """The keyed index of another field's value (`source`), for exact search; computed, never edited."""

    def __init__(self, *args, source: str = "", normalise=None, tail: int = 0, **kwargs):
        self.source = source
        self.normalise = normalise
        self.tail = tail  # > 0: the index of the value's last `tail` characters (fragment search), its own purpose
        kwargs.setdefault("max_length", 48)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("db_index", True)
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        if self.tail:
            kwargs["tail"] = self.tail
        for k, v in (("max_length", 48), ("blank", True), ("editable", False), ("db_index", True), ("default", "")):
            if kwargs.get(k) == v:
                kwargs.pop(k)
        return name, path, args, kwargs

    def contribute_to_class(self, cls, name, *args, **kwargs):
        super().contribute_to_class(cls, name, *args, **kwargs)
        self.purpose = f"{cls._meta.label_lower}.{self.source}" + (f".tail{self.tail}" if self.tail else "")

    def index_of(self, value) -> str:
        value = "" if value is None else str(value)
        if self.normalise:
            value = self.normalise(value)
        if self.tail:
            value = value[-self.tail:] if len(value) >= self.tail else ""
        return crypto.blind_index(value, self.purpose)

    def index_many(self, values) -> list[str]:
        """`index_of` over many values (the bulk writer's per-column step): the same indexes, the key taken once."""
        norm, tail = self.normalise, self.tail
        plain = []
        for value in values:
            value = "" if value is None else str(value)
            if norm:
                value = norm(value)
            if tail:
                value = value[-tail:] if len(value) >= tail else ""
            plain.append(value)
        return crypto.blind_index_many(plain, self.purpose)

    def pre_save(self, model_instance, add):
        value = self.index_of(getattr(model_instance, self.source))
        setattr(model_instance, self.attname, value)
        return value


def blind_field(model, source: str, tail: int = 0) -> BlindIndexField:
    for f in model._meta.concrete_fields:
        if isinstance(f, BlindIndexField) and f.source == source and f.tail == tail:
            return f
    raise FieldError((_("%(model)s has no blind index on %(source)s (last %(tail)s characters)") if tail
                      else _("%(model)s has no blind index on %(source)s"))
                     % {"model": model._meta.label, "source": source, "tail": tail})


def blind_q(model, source: str, value, prefix: str = "", tail: int = 0) -> Q:
    """Rows whose `source` equals `value` exactly (one value or several), through its blind index (under every
    index key); with `tail`, rows whose value ends with `value` (exactly `tail` characters), through that fragment's
    own index."""
    f = blind_field(model, source, tail)
    values = [value] if isinstance(value, str) else list(value)
    indexes = []
    for v in values:
        v = f.normalise(v) if f.normalise else v
        if tail and len(v or "") != tail:
            raise ValueError(_("%(field)s: can only be looked up by its last %(tail)s characters") % {"field": f.name, "tail": tail})
        indexes += crypto.blind_indexes(v, f.purpose)
    if not indexes:
        return Q(pk__in=[])
    return Q(**{f"{prefix}{f.name}__in": indexes})


def values_opened(queryset, *names: str, stored: dict | None = None) -> list[dict]:
    """`list(queryset.values(*names))`, the sealed fields among `names` read as stored and opened a column at a time
    (`from_db_many`: one key lookup and cipher context per column) instead of value by value through
    `from_db_value`: the same dicts, for reads of many rows (a roster import compares every member of its
    households). `stored`, when given (with "id" among `names`), receives each row's sealed fields as stored (row
    id → tuple, in the order of `names`), for `unchanged_since` to check a second read against without opening it."""
    meta = queryset.model._meta
    sealed = [n for n in names if getattr(meta.get_field(n), "encrypted", False)]
    if not sealed:
        return list(queryset.values(*names))
    rows = _values_stored(queryset, names, sealed)
    if stored is not None:
        for r in rows:
            stored[r["id"]] = tuple(r[n] for n in sealed)
    for n in sealed:
        opened = meta.get_field(n).from_db_many([r[n] for r in rows])
        for r, value in zip(rows, opened, strict=True):
            r[n] = value
    return rows


def _values_stored(queryset, names, sealed: list[str]) -> list[dict]:
    """The rows of `queryset.values(*names)` with the sealed fields as stored (key id, nonce, ciphertext)."""
    as_stored = {f"sealed_value_of_{n}": ExpressionWrapper(F(n), output_field=models.TextField()) for n in sealed}
    rows = queryset.values(*[n for n in names if n not in sealed], **as_stored)
    columns = [(n, f"sealed_value_of_{n}" if n in sealed else n) for n in names]
    return [{n: r[c] for n, c in columns} for r in rows]


def unchanged_since(queryset, names: tuple[str, ...], opened: list[dict], stored: dict, *, key: str = "id") -> bool:
    """Does `queryset.values(*names)` still read as `opened` did (read by `values_opened(..., stored=stored)`)? The
    sealed fields are compared as stored, so nothing is opened: the same stored text is the same value, and a
    value sealed again with the same content (a key rotation in between) counts as changed, which is the safe side.
    Rows are matched by `key` ("id", or another unique field among `names`)."""
    meta = queryset.model._meta
    sealed = [n for n in names if getattr(meta.get_field(n), "encrypted", False)]
    now = _values_stored(queryset, names, sealed) if sealed else list(queryset.values(*names))
    if len(now) != len(opened):
        return False
    before = {r[key]: r for r in opened}
    plain = [n for n in names if n not in sealed]
    for r in now:
        old = before.get(r[key])
        if old is None or any(r[n] != old[n] for n in plain):
            return False
        if sealed and tuple(r[n] for n in sealed) != stored.get(old["id"]):
            return False
    return True


def encrypted_fields(model) -> list:
    return [f for f in model._meta.concrete_fields if getattr(f, "encrypted", False)]


def sealed_names(model, prefix: str = "", *, keep: tuple[str, ...] = ()) -> list[str]:
    """The names of `model`'s sealed fields (behind the relation path `prefix`, e.g. "person__"), but those in
    `keep`: for `.defer(...)`, so a read that does not show them does not open them
    (`Loan.objects.select_related("person").defer(*sealed_names(Person, "person__"))`)."""
    return [f"{prefix}{f.name}" for f in encrypted_fields(model) if f.name not in keep]


def blind_fields(model) -> list[BlindIndexField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, BlindIndexField)]


def with_indexes(model, values: dict) -> dict:
    """`values` for `QuerySet.update(**...)` with the blind indexes of the sealed fields among them (update() calls no
    pre_save): `Person.objects.filter(...).update(**with_indexes(Person, {"id_number": n}))`."""
    out = dict(values)
    for f in blind_fields(model):
        if f.source in values:
            out[f.name] = f.index_of(values[f.source])
    return out
