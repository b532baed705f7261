"""Pairing rules: one responsible cadre per household, 不脱贫不脱钩, reassignment with reason and approver, history."""

import datetime as dt

import pytest

from fupin.assistance import services
from fupin.assistance.models import AreaPairing, HouseholdLight, HouseholdPairing
from fupin.core.errors import ServiceError
from fupin.core.models import AuditEvent
from fupin.core.testing import make_user
from fupin.registry.services import household_update

from .conftest import TODAY, poor

pytestmark = pytest.mark.django_db


def test_assign_records_the_three_fixes(hh_a, cadre):
    p = services.pairing_assign(actor="test", household=hh_a, cadre=cadre, duty="落实帮扶措施", post="结对帮扶干部",
                                exit_commitment="2018年底前脱贫", exit_target_year=2018)
    assert (p.cadre, p.unit, p.area_code, p.start_date) == (cadre, cadre.unit, hh_a.area_code, TODAY)
    assert (p.duty, p.post, p.exit_commitment, p.exit_target_year) == ("落实帮扶措施", "结对帮扶干部", "2018年底前脱贫",
                                                                       2018)
    assert AuditEvent.objects.filter(action="assistance.pairing.assign", object_id=str(p.pk)).exists()
    # assigning the same cadre again changes nothing
    assert services.pairing_assign(actor="test", household=hh_a, cadre=cadre) == p
    assert HouseholdPairing.objects.count() == 1


def test_a_cadre_may_carry_several_households(county, frozen, cadre):
    hs = [poor(county["va1"], head=n) for n in ("甲", "乙", "丙")]
    for h in hs:
        services.pairing_assign(actor="test", household=h, cadre=cadre)
    assert cadre.pairings.filter(end_date__isnull=True).count() == 3


def test_second_cadre_is_refused_without_reassignment(hh_a, cadre, other_cadre):
    services.pairing_assign(actor="test", household=hh_a, cadre=cadre)
    with pytest.raises(ServiceError, match="改派"):
        services.pairing_assign(actor="test", household=hh_a, cadre=other_cadre)
    assert list(HouseholdPairing.objects.values_list("cadre_id", flat=True)) == [cadre.pk]


def test_only_registered_poor_households_are_paired(county, frozen, cadre):
    plain = poor(county["va1"], head="钱", is_registered_poor=False)
    with pytest.raises(ServiceError, match="不是建档立卡"):
        services.pairing_assign(actor="test", household=plain, cadre=cadre)
    assert not HouseholdPairing.objects.exists()


def test_no_unpairing_before_exit(hh_a, cadre):
    p = services.pairing_assign(actor="test", household=hh_a, cadre=cadre)
    with pytest.raises(ServiceError, match="不脱贫不脱钩"):
        services.pairing_end(actor="test", household=hh_a, reason="工作调动")
    p.refresh_from_db()
    assert p.end_date is None
    assert HouseholdLight.objects.get(pk=hh_a.pk).cadre_id == cadre.pk


def test_unpairing_after_exit(hh_a, cadre):
    services.pairing_assign(actor="test", household=hh_a, cadre=cadre)
    hh = household_update(actor="test", household=hh_a, poverty_status="4")
    p = services.pairing_end(actor="test", household=hh, reason="已稳定脱贫")
    assert (p.end_date, p.end_reason) == (TODAY, "已稳定脱贫")
    # an exited household without a cadre is no longer tracked
    assert not HouseholdLight.objects.filter(pk=hh_a.pk).exists()


def test_reassignment_needs_reason_and_an_approver_who_covers_the_household(county, hh_a, cadre, other_cadre,
                                                                             town_a_leader, village_a_user):
    old = services.pairing_assign(actor="test", household=hh_a, cadre=cadre, start=TODAY - dt.timedelta(days=100),
                                  duty="帮扶", exit_commitment="按期脱贫")
    with pytest.raises(ServiceError, match="原因"):
        services.pairing_reassign(actor="test", household=hh_a, cadre=other_cadre, reason=" ", approver=town_a_leader)
    with pytest.raises(ServiceError, match="审批人"):
        services.pairing_reassign(actor="test", household=hh_a, cadre=other_cadre, reason="调动", approver=None)
    with pytest.raises(ServiceError, match="没有审批"):
        services.pairing_reassign(actor="test", household=hh_a, cadre=other_cadre, reason="调动",
                                  approver=village_a_user)
    town_b_leader = make_user("town_b", "town_staff", division=county["town_b"])
    with pytest.raises(ServiceError, match="不管辖"):
        services.pairing_reassign(actor="test", household=hh_a, cadre=other_cadre, reason="调动",
                                  approver=town_b_leader)
    assert HouseholdPairing.objects.count() == 1  # nothing half-written

    new = services.pairing_reassign(actor=village_a_user, household=hh_a, cadre=other_cadre, reason="原帮扶干部工作调动",
                                    approver=town_a_leader)
    old.refresh_from_db()
    assert (old.end_date, old.end_reason, old.approved_by, old.ended_by, old.successor) == (
        TODAY, "原帮扶干部工作调动", town_a_leader, village_a_user, new)
    assert (new.cadre, new.start_date, new.end_date, new.duty, new.exit_commitment) == (
        other_cadre, TODAY, None, "帮扶", "按期脱贫")
    assert HouseholdPairing.objects.filter(household=hh_a).count() == 2  # history kept
    assert HouseholdLight.objects.get(pk=hh_a.pk).cadre_id == other_cadre.pk
    # the light keeps counting from the first pairing: reassignment does not reset neglect
    assert HouseholdLight.objects.get(pk=hh_a.pk).colour == "red"


def test_area_pairings(county, frozen, unit, cadre, other_cadre, town_a_leader):
    va1 = county["va1"]
    va1.is_poor_village = True
    va1.save()
    enterprise = services.unit_create(actor="test", name="宜都某化工公司", kind="enterprise")
    p = services.area_pairing_create(actor="test", kind="enterprise_village", division=va1, unit=enterprise)
    with pytest.raises(ServiceError, match="不是企业"):
        services.area_pairing_create(actor="test", kind="enterprise_village", division=county["va2"], unit=unit)
    with pytest.raises(ServiceError, match="已有"):
        services.area_pairing_create(actor="test", kind="enterprise_village", division=va1, unit=enterprise)
    with pytest.raises(ServiceError, match="不脱贫不脱钩"):
        services.area_pairing_end(actor="test", pairing=p, reason="到期")
    with pytest.raises(ServiceError, match="乡镇"):
        services.area_pairing_create(actor="test", kind="committee_town", division=va1, cadre=cadre)
    services.area_pairing_create(actor="test", kind="committee_town", division=county["town_a"], cadre=cadre)
    leader = services.area_pairing_create(actor="test", kind="leader_village", division=va1, cadre=cadre)
    new = services.area_pairing_reassign(actor="test", pairing=leader, cadre=other_cadre, reason="领导分工调整",
                                         approver=town_a_leader)
    assert new.cadre == other_cadre
    assert AreaPairing.objects.filter(kind="leader_village", division=va1).count() == 2

    team = services.work_team_create(actor="test", village=va1, unit=unit, leader=cadre, members=[other_cadre])
    tp = AreaPairing.objects.get(kind="work_team", division=va1, end_date__isnull=True)
    assert (tp.team, tp.unit, tp.cadre) == (team, unit, cadre)
    assert list(team.members.all()) == [other_cadre]

    # once the village has exited, its pairings may end
    va1.is_poor_village = False
    va1.save()
    ended = services.area_pairing_end(actor="test", pairing=p, reason="贫困村已出列")
    assert ended.end_date == TODAY
