"""Loading the starting code lists and poverty lines (fupin/registry/codes.py) into the database.

Only what is missing is added: a county that relabelled a code or corrected a poverty line keeps its own value.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from fupin.core import audit
from fupin.core.models import CodeItem, CodeList
from fupin.registry import codes
from fupin.registry.models import PovertyLine


@transaction.atomic
def codes_load(*, actor) -> dict:
    """Add the missing code lists, codes and poverty lines; idempotent; one audit event when anything was added."""
    lists_created = items_created = lines_created = 0
    existing_lists = {cl.key: cl for cl in CodeList.objects.all()}
    existing_items = set(CodeItem.objects.values_list("code_list__key", "code"))
    new_items = []
    for key, (name, entries) in codes.CODE_LISTS.items():
        code_list = existing_lists.get(key)
        if code_list is None:
            code_list = CodeList.objects.create(key=key, name=name)
            lists_created += 1
        for order, (code, label) in enumerate(entries, start=1):
            if (key, code) not in existing_items:
                color = codes.STATUS_COLORS.get(code, "") if key == "status" else ""
                new_items.append(CodeItem(code_list=code_list, code=code, label=label, order=order, color=color))
    CodeItem.objects.bulk_create(new_items)
    items_created = len(new_items)
    known_years = set(PovertyLine.objects.values_list("year", flat=True))
    new_lines = [PovertyLine(year=year, amount=Decimal(amount), note="国家扶贫标准(当年价)")
                 for year, amount in codes.POVERTY_LINES.items() if year not in known_years]
    PovertyLine.objects.bulk_create(new_lines)
    lines_created = len(new_lines)
    result = {"lists": lists_created, "codes": items_created, "poverty_lines": lines_created}
    if any(result.values()):
        audit.record(actor=actor, action="registry.codes.load", object_type="core.codelist",
                     object_repr="代码表与贫困线", after=result)
    return result
