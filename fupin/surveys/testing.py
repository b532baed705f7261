"""Objects of the collection forms and data quality for the scoping sweep (tests/test_scoping_sweep.py): in the
given village, a household form response, a village form response and a data-quality problem."""

from __future__ import annotations


def sweep_objects(*, village, grid, actor) -> None:
    from fupin.core.testing import make_household
    from fupin.quality.services import run_checks
    from fupin.registry.models import Household
    from fupin.surveys.models import Form
    from fupin.surveys.services import forms_load_shipped, response_submit

    forms_load_shipped(actor=actor)
    hh = make_household(village, grid=grid, head=f"{village.name[0]}填表", members=2, poor_code=f"SV{village.code}",
                        is_registered_poor=True, poverty_status="0", attribute="1", main_cause="3")
    response_submit(actor=actor, form=Form.objects.get(key="household"), period="2016", household=hh,
                    answers={"head_name": hh.head_name, "attribute": "1", "main_cause": "3", "poverty_status": "0",
                             "income_wages": 1000, "dropout": False}, apply_registry=False)
    response_submit(actor=actor, form=Form.objects.get(key="village"), period="2016", division=village,
                    answers={"village_attribute": "贫困村", "households_total": 10, "population_total": 30})
    Household.objects.filter(pk=hh.pk).update(attribute="")  # a problem for the data-quality pages
    run_checks(actor=actor, trigger="sweep")
