"""The person generator: deterministic, valid and unique ID numbers, households that hang together."""

import random
from decimal import Decimal

from fupin.core import idnumber
from fupin.demo import people
from fupin.demo.names import SurnamePool


def _generate(seed: int, households: int = 400, poor: int = 100):
    rng = random.Random(seed)
    ctx = people.Context(rng=rng, ids=people.IdAllocator("420581"), surnames=SurnamePool(rng))
    residents = [people.household_members(ctx) for _ in range(households)]
    registered = [people.poor_household(ctx) for _ in range(poor)]
    return residents, registered


def _ids(residents, registered):
    return [m["id_number"] for hh in residents for m in hh] + [m["id_number"] for hh, _ in registered for m in hh]


def test_same_seed_same_people_other_seed_other_people():
    first = _ids(*_generate(7))
    assert first == _ids(*_generate(7))
    assert first != _ids(*_generate(8))


def test_id_numbers_are_valid_unique_and_match_birth_and_sex():
    residents, registered = _generate(1, households=2000)
    members = [m for hh in residents for m in hh] + [m for hh, _ in registered for m in hh]
    numbers = [m["id_number"] for m in members]
    assert len(numbers) == len(set(numbers))
    for m in members:
        assert idnumber.normalise(m["id_number"]) == m["id_number"]
        info = idnumber.info(m["id_number"])
        assert info.area == "420581"
        assert info.birth_date == m["birth_date"]
        assert info.sex == m["sex"]


def test_households_hang_together():
    residents, _ = _generate(2, households=3000)
    sizes = [len(hh) for hh in residents]
    assert 2.6 < sum(sizes) / len(sizes) < 3.2
    for hh in residents:
        head = hh[0]
        assert head["relationship"] == "户主"
        assert sum(1 for m in hh if m["relationship"] == "户主") == 1
        for m in hh:
            if m["relationship"] in ("之子", "之女", "之孙子", "之孙女"):
                assert people.age_of(m) < people.age_of(head)
            if m["relationship"] in ("之父", "之母"):
                assert people.age_of(m) > people.age_of(head)
            if m["relationship"] == "配偶":
                assert m["sex"] != head["sex"]


def test_poor_households_have_causes_that_fit_their_members_and_incomes_that_add_up():
    _, registered = _generate(3, households=0, poor=600)
    below = 0
    for members, fields in registered:
        assert fields["is_registered_poor"] is True
        cause = fields["main_cause"]
        assert cause not in fields["other_causes"]
        if "3" in (cause, *fields["other_causes"]):
            assert any(m["schooling"] not in ("", "01", "02") for m in members), "因学 needs a student"
        if cause == "2":
            disabled = [m for m in members if m.get("disability_card")]
            assert disabled and idnumber.parse_disability_card(disabled[0]["disability_card"])
        if cause == "1":
            assert any(m["health"] != ["1"] for m in members)
        for m in members:
            if 16 <= people.age_of(m) < 60 and not m["schooling"] and m["health"] == ["1"]:
                assert m["labour_skill"] != "5", "a healthy adult is never 无劳动力"
        transfers = sum(fields[k] for k in ("transfer_family_planning", "transfer_dibao", "transfer_wubao",
                                            "transfer_pension", "transfer_eco", "transfer_other"))
        net = (fields["income_wages"] + fields["income_business"] - fields["cost_business"]
               + fields["income_property"] + transfers)
        assert net == fields["net_income"]
        assert fields["per_capita_net_income"] == (net / len(members)).quantize(Decimal("0.01"))
        if fields["poverty_status"] == "1":
            assert fields["year_exited"] >= fields["year_identified"]
        else:
            assert fields["year_exited"] is None
        below += fields["per_capita_net_income"] < people.POVERTY_LINE
    assert below > len(registered) / 2, "most registered households are below the 2016 line"
