"""Objects the scoping sweep (tests/test_scoping_sweep.py) creates in each village: a subscription of the village
with a delivered event, a text message, a feedback import and a dynamic adjustment of the village."""

from __future__ import annotations


def sweep_objects(*, village, grid, actor) -> None:
    from fupin.interop import delivery
    from fupin.interop.models import FeedbackImport, Submission
    from fupin.interop.services import subscription_create, subscription_test
    from fupin.interop.sms import queue_sms

    sub = subscription_create(actor=actor, name=f"{village.name}接收系统", url="http://127.0.0.1:9/",
                              event_types=["household.changed"], area_prefix=village.prefix)
    subscription_test(actor=actor, subscription=sub)
    delivery.deliver_pass()
    queue_sms(phone="13900000123", purpose="test", params={"text": f"{village.name}短信"}, area_code=village.code,
              recipient=f"{village.name}干部")
    FeedbackImport.objects.create(file_name=f"{village.name}疑点.xlsx", sha256="0" * 64, area_prefix=village.prefix)
    Submission.objects.create(year=2016, area_prefix=village.prefix, note=f"{village.name}调整")
