import pytest

from fupin.core.testing import make_household, make_user
from fupin.registry.selectors import problem_texts


@pytest.mark.django_db
def test_other_households_outside_the_jurisdiction_are_not_named(county):
    make_household(county["va1"], head="甲", is_registered_poor=True, poor_code="A0001")
    make_household(county["vb1"], head="乙", is_registered_poor=True, poor_code="B0001")
    text = "同一人登记在多个户中(另见户编号A0001、B0001),两处均已保留,请核实"
    village_a = make_user("va", "village_team", division=county["va1"])
    office = make_user("office", "city_office", division=county["county"])
    assert problem_texts(village_a, [text]) == ["同一人登记在多个户中(另见户编号A0001、辖区外1户),两处均已保留,请核实"]
    assert problem_texts(office, [text]) == [text]
    assert problem_texts(village_a, ["证件号码校验位错误"]) == ["证件号码校验位错误"]
