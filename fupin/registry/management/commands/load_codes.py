from fupin.core.management.base import FupinCommand
from fupin.registry.codes_service import codes_load


class Command(FupinCommand):
    help = "载入建档立卡代码表(贫困户属性、致贫原因、脱贫状态……)与历年贫困线;只补缺,不覆盖已有内容"

    def handle(self, *args, **opts):
        r = codes_load(actor=self.system_actor())
        self.stdout.write(f"代码表载入完成:新增代码表{r['lists']}个、代码{r['codes']}条、贫困线{r['poverty_lines']}条")
