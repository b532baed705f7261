from fupin.core.management.base import FupinCommand
from fupin.surveys.services import forms_load_shipped


class Command(FupinCommand):
    help = "载入随系统发布的采集表(户级、村级、市级),已有的表不动"

    def handle(self, *args, **opts):
        created = forms_load_shipped(actor=self.system_actor())
        names = "、".join(f.name for f in created) or "无(都已存在)"
        self.stdout.write(self.style.SUCCESS(f"已载入采集表:{names}"))
