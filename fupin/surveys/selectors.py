"""Reads of the collection forms: lists scoped to the user, a response's answers laid out under its version."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, QuerySet

from fupin.surveys import definitions as defs
from fupin.surveys.models import Form, FormVersion, Response


def forms_overview(user) -> list[dict]:
    """Every form with its current version, its draft and the number of responses the user may see."""
    counts = dict(Response.objects.restrict(user).values_list("form_id").annotate(n=Count("id")))
    versions: dict[int, list[FormVersion]] = {}
    for v in FormVersion.objects.only("id", "form_id", "number", "status", "published_at").order_by("-number"):
        versions.setdefault(v.form_id, []).append(v)
    out = []
    for form in Form.objects.all():
        vs = versions.get(form.pk, [])
        out.append({"form": form, "current": next((v for v in vs if v.is_published), None),
                    "draft": next((v for v in vs if not v.is_published), None), "versions": len(vs),
                    "responses": counts.get(form.pk, 0)})
    return out


def responses(user, form: Form, *, period: str = "", version: int | None = None) -> QuerySet:
    qs = (Response.objects.restrict(user).filter(form=form)
          .select_related("form_version", "household", "division", "submitted_by"))
    if period:
        qs = qs.filter(period=period)
    if version:
        qs = qs.filter(form_version__number=version)
    return qs.order_by("-period", "area_code", "id")


def periods(user, form: Form) -> list[str]:
    return list(Response.objects.restrict(user).filter(form=form).values_list("period", flat=True)
                .distinct().order_by("-period"))


def household_responses(user, household) -> list[Response]:
    return list(Response.objects.restrict(user).filter(household=household)
                .select_related("form", "form_version").order_by("form__order", "-period"))


def layout(defn: dict, values: dict, code_options, *, errors: dict | None = None, today: dt.date | None = None,
           prefix: str = "f") -> list[dict]:
    """The sections and items of a definition with their current values, for pages (filling and reading)."""
    errors = errors or {}
    out = []
    for s in defs.sections(defn):
        rows = []
        for it in s.get("items") or []:
            key = it["key"]
            value = values.get(key)
            entry: dict[str, Any] = {"it": it, "key": key, "name": f"{prefix}.{key}", "value": value,
                                     "error": errors.get(key, ""), "hidden": not _safe_visible(it, values, today),
                                     "display": ""}
            if it["type"] in ("choice", "multi"):
                entry["options"] = defs._options(it, code_options)
                entry["selected"] = [str(v) for v in (value if isinstance(value, list) else [value]) if v is not None]
            if it["type"] == "table":
                entry["columns"] = [{"it": c, "options": defs._options(c, code_options)
                                     if c["type"] in ("choice", "multi") else []} for c in it.get("columns") or []]
                entry["rows"] = []
                for i, row in enumerate(value or [], start=1):
                    cells = []
                    for c in it.get("columns") or []:
                        v = row.get(c["key"])
                        cells.append({"it": c, "name": f"t.{key}.{i}.{c['key']}", "value": v,
                                      "display": defs.display_value(c, v, code_options),
                                      "selected": [str(x) for x in (v if isinstance(v, list) else [v]) if x is not None],
                                      "options": defs._options(c, code_options) if c["type"] in ("choice", "multi")
                                      else [], "error": errors.get(f"{key}.{i}.{c['key']}", "")})
                    entry["rows"].append({"index": i, "person": row.get("_person", ""), "cells": cells})
            else:
                entry["display"] = defs.display_value(it, value, code_options)
            rows.append(entry)
        out.append({"section": s, "items": rows})
    return out


def _safe_visible(it: dict, values: dict, today) -> bool:
    try:
        return defs.visible(it, values, today)
    except ValueError:
        return True
