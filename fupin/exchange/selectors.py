"""Reads of the data exchange, always through the user's jurisdiction."""

from __future__ import annotations

from django.utils.translation import gettext, pgettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from fupin.core import idviews, scoping
from fupin.core.i18n import join_list
from fupin.exchange.models import LinkReview, LinkRun, RecordLink, Snapshot, Source


def county_wide(user) -> bool:
    """Department files as a whole (problems, row lists) are for county-level staff who import them."""
    return scoping.county_wide(user) and user.can("import")


def sources_overview() -> list[dict]:
    current = {s.source_id: s for s in Snapshot.objects.filter(is_current=True)}
    out = []
    for src in Source.objects.select_related("department"):
        snap = current.get(src.pk)
        out.append({"source": src, "snapshot": snap})
    return out


def source_names() -> dict[str, str]:
    """Department sources' codes -> their names ("vehicle" -> "机动车登记"); "registry" is the household's own
    registration data, which rules over household facts cite."""
    names = dict(Source.objects.values_list("code", "name"))
    names.setdefault("registry", str(_("Registration data")))
    return names


def person_for_user(user, pk: int):
    from fupin.registry.models import Person

    return Person.objects.restrict(user).select_related("household", "household__village").filter(pk=pk).first()


def person_links(person) -> list[RecordLink]:
    return list(RecordLink.objects.filter(person=person, snapshot__is_current=True)
                .select_related("record", "snapshot", "snapshot__source").order_by("source_code", "record__row_number"))


def reviews_for_user(user, *, status: str | None = "open"):
    qs = LinkReview.objects.restrict(user)
    if status:
        qs = qs.filter(status=status)
    return (qs
            .select_related("person", "person__household", "record", "record__snapshot").order_by("-score", "id"))


def last_link_run() -> LinkRun | None:
    return LinkRun.objects.first()


def record_fields(record, user) -> list[tuple[str, str]]:
    return [(k, idviews.shown_in_text(v, user)) for k, v in (record.data or {}).items() if v not in ("", None)]


def id_kind_counts(snapshot) -> list[dict]:
    """Per ID kind (full, repaired, legacy15, masked, invalid, missing) of a snapshot: its records and how many of
    them are linked to a registry person. [{"kind", "label", "records", "linked"}] in IdKind order."""
    from django.db.models import Count, Exists, OuterRef

    from fupin.core.idnumber import IdKind
    from fupin.exchange.models import IdKind as IdKindLabel
    from fupin.exchange.models import StagedRecord

    linked = RecordLink.objects.filter(record=OuterRef("pk"))
    rows = (StagedRecord.objects.filter(snapshot=snapshot).annotate(is_linked=Exists(linked))
            .values("id_kind", "is_linked").annotate(n=Count("id")))
    counts = {k: {"records": 0, "linked": 0} for k in IdKind.ALL}
    for r in rows:
        c = counts.setdefault(r["id_kind"], {"records": 0, "linked": 0})
        c["records"] += r["n"]
        if r["is_linked"]:
            c["linked"] += r["n"]
    labels = dict(IdKindLabel.choices)  # the same kinds with translated labels
    return [{"kind": k, "label": labels.get(k, k), **c} for k, c in counts.items()]


def review_neighbours(user, review: LinkReview) -> tuple[int | None, int | None, int, int]:
    """(previous pk, next pk, position from 1, count) of an open review in the user's queue order."""
    pks = list(reviews_for_user(user).values_list("pk", flat=True)[:2000])
    if review.pk not in pks:
        return (pks[0] if pks else None), (pks[0] if pks else None), 0, len(pks)
    i = pks.index(review.pk)
    return (pks[i - 1] if i > 0 else None), (pks[i + 1] if i + 1 < len(pks) else None), i + 1, len(pks)


def _chars(a: str, b: str) -> list[tuple[str, bool]]:
    """The characters of a, each flagged when it differs from b at the same place."""
    return [(ch, i >= len(b) or b[i] != ch) for i, ch in enumerate(a)]


def review_pair(review: LinkReview, user) -> list[dict]:
    """Both sides of an uncertain pair, field by field, differences flagged (ID numbers masked for the user)."""

    rec = review.record
    details = (review.details or {}).get("record") or {}
    person = review.person
    r_name = (rec.name if rec else details.get("name")) or ""
    r_id = (rec.id_clean if rec else details.get("id")) or ""
    r_birth = (rec.birth_date.isoformat() if rec and rec.birth_date else details.get("birth_date")) or ""
    r_sex = (rec.sex if rec else details.get("sex")) or ""
    r_address = (rec.address if rec else details.get("address")) or ""
    p_birth = person.birth_date.isoformat() if person.birth_date else ""
    village = person.household.village if person.household_id and person.household.village_id else None
    p_place = f"{village.parent.name if village and village.parent_id else ''}{village.name if village else ''}"
    sexes = {"1": str(_("male")), "2": str(_("female"))}

    def show_id(number: str) -> str:
        return idviews.shown(number, user)

    rows = [
        {"key": "name", "label": pgettext_lazy("person", "Name"), "left": _chars(r_name, person.name),
         "right": _chars(person.name, r_name),
         "differs": r_name != person.name},
        {"key": "id", "label": _("ID number"), "left": [(show_id(r_id), False)] if r_id else [], "right": [(show_id(
            person.id_number or ""), False)], "note": _id_note(r_id, person.id_number or "")},
        {"key": "birth_date", "label": _("Date of birth"), "left": [(r_birth, False)], "right": [(p_birth, False)],
         "differs": bool(r_birth and p_birth and r_birth != p_birth)},
        {"key": "sex", "label": _("Sex"), "left": [(sexes.get(r_sex, r_sex), False)], "right": [(sexes.get(person.sex, person.sex),
                                                                                 False)],
         "differs": bool(r_sex and person.sex and r_sex != person.sex)},
        {"key": "place", "label": _("Address / village"), "left": [(idviews.shown_in_text(r_address, user), False)], "right": [(p_place, False)],
         "differs": bool(r_address and village and village.name not in r_address)},
    ]
    rows[1]["differs"] = bool(r_id) and _id_differs(r_id, person.id_number or "")
    return rows


def _id_differs(record_id: str, person_id: str) -> bool:
    visible = [i for i, ch in enumerate(record_id) if ch not in "*＊"]
    return len(record_id) != len(person_id) or any(record_id[i] != person_id[i] for i in visible)


def _id_note(record_id: str, person_id: str) -> str:
    """How the two ID numbers relate, in words (no digits, so it can be shown to every role)."""
    if not record_id:
        return str(_("The department record has no ID number"))
    if "*" in record_id or "＊" in record_id:
        visible = [i for i, ch in enumerate(record_id) if ch not in "*＊"]
        same = len(record_id) == len(person_id) and all(record_id[i] == person_id[i] for i in visible)
        return str(_("Masked number: the visible digits all agree") if same else
                   _("Masked number: the visible digits disagree"))
    if len(record_id) == len(person_id):
        diff = sum(1 for a, b in zip(record_id, person_id, strict=True) if a != b)
        if diff == 0:
            return str(_("Identical"))
        return gettext("%(n)d digit(s) differ") % {"n": diff}
    return gettext("Different lengths (%(a)d digits / %(b)d digits)") % {"a": len(record_id), "b": len(person_id)}


def explanation_rows(explanation: dict | None) -> list[dict]:
    """An explanation's fields with a bar width (share of the largest weight) for the page."""
    if not explanation:
        return []
    fields = explanation.get("fields") or []
    top = max([abs(f.get("weight") or 0) for f in fields] + [1.0])
    return [{**f, "positive": (f.get("weight") or 0) >= 0, "step": round(10 * abs(f.get("weight") or 0) / top)}
            for f in fields]


FIELD_NAMES = {"id": pgettext_lazy("linkage", "ID number"), "name": pgettext_lazy("linkage", "name"),
               "birth_date": pgettext_lazy("linkage", "date of birth"),
               "sex": pgettext_lazy("linkage", "sex"), "village": pgettext_lazy("linkage", "village or town")}


def model_overview(run: LinkRun | None) -> dict | None:
    """The model a linkage run used, as rows (field, level, m, u, weight = log2 m/u) for the page."""
    import math

    if run is None or run.model_id is None:
        return None
    model = run.model
    rows = []
    for comp, levels in (model.parameters or {}).items():
        if not isinstance(levels, dict):
            continue
        for label, (m, u) in levels.items():
            rows.append({"field": FIELD_NAMES.get(comp, comp), "level": label, "m": m, "u": u,
                         "weight": math.log2(m / u) if m > 0 and u > 0 else None})
    return {"obj": model, "rows": rows}


def department_priors(run: LinkRun | None) -> list[dict]:
    """The departments that had their own prior in the run's decision per record (docs/exchange.md): name, share of
    their valid ID numbers in the registry, how many valid ID numbers it was measured on."""
    by_source = ((run.stats or {}).get("in_registry_by_source") if run else None) or {}
    names = dict(Source.objects.filter(code__in=list(by_source)).values_list("code", "name"))
    return [{"name": names.get(code, code), "rate": e["rate"], "valid_ids": e["valid_ids"]}
            for code, e in sorted(by_source.items()) if e.get("rate") is not None]


SKEW_COLUMNS = {
    "name_py": pgettext_lazy("linkage", "name in pinyin"),
    "birth_date": pgettext_lazy("linkage", "date of birth"),
    "id15": pgettext_lazy("linkage", "first 15 characters of the ID number"),
    "id17": pgettext_lazy("linkage", "first 17 characters of the ID number"),
    "id_clean": pgettext_lazy("linkage", "ID number"),
    "id_area6": pgettext_lazy("linkage", "area code"),
    "id_last4": pgettext_lazy("linkage", "last four characters"),
    "id_birth_year": pgettext_lazy("linkage", "year of birth"),
    "surname": pgettext_lazy("linkage", "surname"),
    "given": pgettext_lazy("linkage", "given name"),
    "town_code": pgettext_lazy("linkage", "town"),
    "sex": pgettext_lazy("linkage", "sex"),
    "birth_year": pgettext_lazy("linkage", "year of birth"),
}
SKEW_ACTIONS = {
    "run": pgettext_lazy("linkage", "compared as usual"),
    "not_measured": pgettext_lazy("linkage", "not measured (the rule is not a plain equality), compared as usual"),
}
SKEW_SHOWN_KEYS = {"name_py", "surname", "given"}  # keys that are names, shown; dates and ID parts are not


def skew_rows(run: LinkRun | None) -> dict | None:
    """The run's skew report for its page: each blocking rule in words, its pairs, its largest block, what was done."""
    report = ((run.stats or {}).get("skew") if run else None) or None
    if not report:
        return None
    rows = []
    for e in report.get("rules", []):
        cols = e.get("columns") or []
        words = (gettext("same %(columns)s") % {"columns": join_list(SKEW_COLUMNS.get(c, c) for c in cols)}
                 if cols else e.get("rule", ""))
        action = e.get("action", "run")
        if action == "split":
            by = pgettext("joining two", " and ").join(str(SKEW_COLUMNS.get(c, c)) for c in e.get("split_by", []))
            text = gettext("split by %(by)s (largest block after the split: %(n)s pairs)") % {
                "by": by, "n": f"{e.get('largest_after', 0):,}"}
            if e.get("records_without_key"):
                text += gettext("; %(n)s records lack %(by)s and are not compared by this rule") % {
                    "n": f"{e['records_without_key']:,}", "by": by}
        elif action == "budget_split":  # a chain of keys: the first, else the next (`skew.BUDGET_KEYS`)
            by = pgettext("linkage", ", else by ").join(
                pgettext("joining two", " and ").join(str(SKEW_COLUMNS.get(c, c)) for c in key)
                for key in e.get("chain") or [e.get("split_by", [])])
            text = gettext("over the pair budget: split by %(by)s (%(after)s pairs instead of %(before)s)") % {
                "by": by, "after": f"{e.get('pairs_after', 0):,}", "before": f"{e.get('pairs', 0):,}"}
            if e.get("records_without_key"):
                text += gettext("; %(n)s records lack %(by)s and keep the rule as it was") % {
                    "n": f"{e['records_without_key']:,}", "by": by}
            if e.get("over_budget"):
                text += gettext("; still over the budget: no secondary key brings it under")
        elif action == "skipped":
            text = gettext("skipped: %(keys)s oversized blocks (%(records)s records) not compared by this rule") % {
                "keys": e.get("skipped_keys", 0), "records": f"{e.get('skipped_records', 0):,}"}
        else:
            text = str(SKEW_ACTIONS.get(action, action))
        key = e.get("largest_key") or {}
        shown = key and set(cols) <= SKEW_SHOWN_KEYS
        rows.append({"rule": words, "pairs": e.get("pairs"), "largest": e.get("largest"),
                     "key": key.get("key") if shown else "", "records": key.get("records"),
                     "persons": key.get("persons"), "action": text,
                     "bounded": action in ("split", "skipped", "budget_split")})
    return {"max_block": report.get("max_block"), "rows": rows, "seconds": report.get("seconds"),
            "records": report.get("records"), "persons": report.get("persons"),
            "pair_budget": report.get("pair_budget"), "budget": report.get("budget")}
