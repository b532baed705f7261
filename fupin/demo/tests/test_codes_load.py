import pytest

from fupin.core.models import AuditEvent, CodeItem, CodeList
from fupin.registry import codes
from fupin.registry.codes_service import codes_load
from fupin.registry.models import PovertyLine


@pytest.mark.django_db
def test_codes_load_adds_what_is_missing_and_keeps_a_countys_labels():
    first = codes_load(actor="system")
    assert first["lists"] == len(codes.CODE_LISTS)
    assert CodeItem.objects.get(code_list__key="status", code="0").label == "未脱贫"
    assert PovertyLine.objects.get(year=2016).amount == 2952
    item = CodeItem.objects.get(code_list__key="cause", code="99")
    item.label = "其他(本县)"
    item.save()
    CodeItem.objects.filter(code_list__key="cause", code="13").delete()
    events = AuditEvent.objects.count()

    again = codes_load(actor="system")
    assert again == {"lists": 0, "codes": 1, "poverty_lines": 0}
    assert CodeItem.objects.get(code_list__key="cause", code="99").label == "其他(本县)"
    assert AuditEvent.objects.count() == events + 1
    assert codes_load(actor="system") == {"lists": 0, "codes": 0, "poverty_lines": 0}
    assert AuditEvent.objects.count() == events + 1
    assert CodeList.objects.count() == len(codes.CODE_LISTS)
