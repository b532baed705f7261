import json
from pathlib import Path

from fupin.core.management.base import FupinCommand
from fupin.eligibility.services import compare_run, findings_export
from fupin.exchange.public import ENGINES, default_engine


class Command(FupinCommand):
    help = "部门数据比对:关联各部门记录,按已发布的识别规则比对每个建档立卡户和识别中的申请户,生成待核实的问题"

    def add_arguments(self, parser):
        parser.add_argument("--out", default=None, help="把未处理和已确认的比对发现写入此JSON文件")
        parser.add_argument("--engine", choices=ENGINES, default=None,
                            help="比对引擎:duckdb(本机,默认)或 spark(省市规模,见 docs/scale.md);默认取 FUPIN_ENGINE")
        parser.add_argument("--spark-master", default=None,
                            help="Spark 主节点地址(如 spark://主机:7077);不填取 FUPIN_SPARK_MASTER,再不填为本机 local[*]")

    def handle(self, *args, **opts):
        engine = default_engine(opts.get("engine"), spark_master=opts.get("spark_master"))
        run = compare_run(actor=self.system_actor(), engine=engine)
        doc = findings_export()
        if opts["out"]:
            Path(opts["out"]).write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
        ch = run.stats.get("changes", {})
        by_rule = ",".join(f"{k}={v}" for k, v in sorted(run.stats.get("findings_by_rule", {}).items()))
        self.stdout.write(f"比对完成:{run.households}户;发现{len(doc['findings'])}条({by_rule or '无'});"
                          f"新增{ch.get('new', 0)},重新打开{ch.get('reopened', 0)},已排除未变{ch.get('kept_dismissed', 0)},"
                          f"不再出现{ch.get('cleared', 0)};用时{run.stats['seconds']['total']}秒")
        nu = doc.get("not_understood") or {}
        for v in nu.get("values", [])[:50]:
            self.stdout.write(f"  不能识别:{v['source']}「{v['field']}」为「{v['value']}」的{v['records']}行"
                              f"(请在「取值对应」页补充)")
        if nu.get("undecided_total"):
            self.stdout.write(f"  因取值不能识别而未能判断:{nu['undecided_total']}处(见输出文件 not_understood)")
