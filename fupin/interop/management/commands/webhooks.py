"""`fupin webhooks list|add|test|deliver`: webhook subscriptions from the command line."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from fupin.core.errors import ServiceError


class Command(BaseCommand):
    help = "Webhook subscriptions: list, add, test (send a test event now), deliver (run a delivery pass)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help="list subscriptions with their waiting and failing deliveries")
        add = sub.add_parser("add", help="add a subscription")
        add.add_argument("--name", required=True)
        add.add_argument("--url", required=True)
        add.add_argument("--events", required=True, help="comma-separated event types (see `list --types`)")
        add.add_argument("--area", default="", help="division code prefix (default: the whole database)")
        add.add_argument("--secret", default="", help="the signing secret (default: a new random one)")
        test = sub.add_parser("test", help="send a test event to a subscription and deliver it now")
        test.add_argument("subscription", help="uuid or name")
        sub.add_parser("deliver", help="deliver everything that is due now")
        sub.add_parser("types", help="list the event types")

    def handle(self, *args, **opts):
        from fupin.interop import delivery, events, services
        from fupin.interop.models import Delivery, Subscription

        action = opts["action"]
        if action == "types":
            for code, label in events.event_type_choices():
                self.stdout.write(f"{code}\t{label}")
        elif action == "list":
            for s in Subscription.objects.order_by("name"):
                failing = s.deliveries.filter(status__in=["retrying", "parked"]).count()
                waiting = s.deliveries.filter(status__in=["pending", "sending"]).count()
                self.stdout.write(json.dumps({"uuid": str(s.uuid), "name": s.name, "url": s.url,
                                              "events": s.event_types, "area": s.area_prefix,
                                              "active": s.is_active, "waiting": waiting, "failing": failing},
                                             ensure_ascii=False))
        elif action == "add":
            try:
                s = services.subscription_create(
                    actor="cli", name=opts["name"], url=opts["url"], area_prefix=opts["area"] or "",
                    event_types=[e.strip() for e in opts["events"].split(",") if e.strip()], secret=opts["secret"])
            except ServiceError as exc:
                raise CommandError(exc.message) from exc
            self.stdout.write(json.dumps({"uuid": str(s.uuid), "secret": s.secret}, ensure_ascii=False))
        elif action == "test":
            key = opts["subscription"]
            s = (Subscription.objects.filter(uuid=key).first() if len(key) == 36 else None) or \
                Subscription.objects.filter(name=key).first()
            if s is None:
                raise CommandError(_("No such subscription: %(key)s") % {"key": key})
            d = services.subscription_test(actor="cli", subscription=s)
            delivery.deliver_pass()
            d = Delivery.objects.get(pk=d.pk)
            self.stdout.write(json.dumps({"status": d.status, "response_status": d.response_status,
                                          "error": d.error}, ensure_ascii=False))
            if d.status != "delivered":
                raise CommandError(_("The test delivery did not arrive: %(error)s") % {"error": d.error or str(d.response_status)})
        elif action == "deliver":
            self.stdout.write(json.dumps(delivery.deliver_pass()))
