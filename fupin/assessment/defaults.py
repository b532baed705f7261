"""The starting packs: a default assessment scheme and the policy rules of 应享未享 matching.

Targets and weights here are the project's defaults, not official figures (the bulletin names what is assessed but
not how it is weighted): a county edits them as a new scheme version. The 98% accuracy cap and the field-check
thresholds follow the national 成效考核 measures quoted in the issue (错退率, 漏评率 ≤ 2%, 群众认可度 ≥ 90%).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

# (code, name, formula, applies_when, direction, target, weight, unit, drill)
VISITS = ("visit_rate", "户均月走访次数", "visits / households / months", "households > 0 and months > 0",
          "higher", 1.0, 20, "次/户·月", "visits")
RED = ("red_days", "户均红灯天数", "days_red / households", "households > 0", "lower", 5.0, 15, "天/户", "red")
OVERDUE = ("overdue_share", "措施逾期率", "100 * measures_overdue / measures_due", "measures_due > 0", "lower", 5.0,
           10, "%", "measures")
ORDERS = ("orders_in_time", "工单按时办结率", "100 * orders_resolved_in_time / orders", "orders > 0", "higher", 90.0,
          15, "%", "orders")
ACCEPT = ("orders_accepted", "工单按时签收率", "100 * orders_accepted_in_time / orders", "orders > 0", "higher", 95.0,
          25, "%", "orders")
SATISFACTION = ("satisfaction", "工单满意度", "satisfaction_sum / satisfaction_count", "satisfaction_count > 0",
                "higher", 4.5, 10, "分", "orders")
QUALITY = ("quality_open", "每百户未整改数据问题", "100 * quality_open / households", "households > 0", "lower", 5.0,
           10, "个/百户", "problems")
FINDINGS = ("findings_15d", "疑点15天内核实率", "100 * findings_verified_15d / findings", "findings > 0", "higher",
            95.0, 10, "%", "findings")
ACCURACY = ("accuracy", "抽查准确率",
            "100 - 100 * (checks_wrong_exit + checks_missed + checks_misidentified) / checks", "checks > 0",
            "higher", 98.0, 10, "%", "checks")

DEFAULT_INDICATORS: dict[str, list[tuple]] = {
    "town": [VISITS, RED, OVERDUE, ORDERS, SATISFACTION, QUALITY, FINDINGS, ACCURACY],
    "village": [VISITS, RED, OVERDUE, ORDERS, SATISFACTION, QUALITY, FINDINGS, ACCURACY],
    "grid_worker": [VISITS, RED, QUALITY, FINDINGS],
    "cadre": [VISITS, RED, OVERDUE],
    "unit": [VISITS, RED, OVERDUE],
    "department": [ACCEPT, (*ORDERS[:6], 45, *ORDERS[7:]), (*SATISFACTION[:6], 30, *SATISFACTION[7:])],
}
DEFAULT_GRADES = [{"grade": "excellent", "min": 90}, {"grade": "good", "min": 80}, {"grade": "pass", "min": 60}]
DEFAULT_CAPS = [{"when": "accuracy < 98", "max_grade": "good", "label": "抽查准确率低于98%的不得评为优秀"}]
DEFAULT_PERIOD_WEIGHTS = {"H1": 30, "H2": 70}

# Policy rules: (code, name, guarantee, subject, eligible, covered, policy name, department code, policy kind);
# the policy (assistance.Policy) is created when the county has none of that name.
# Facts: see fupin.assessment.screening.MEMBER_FACTS / HOUSEHOLD_FACTS. Each rule says who is *entitled* (应享), not
# who could apply: a gap must be a household or member the responsible department owes something.
# POLICY_PACK_VERSION counts the starting pack's revisions; a rule the county never edited is brought up to the
# newest pack (as a new revision of the rule, audited); a rule the county edited is left as the county wrote it.
# Why each rule reads as it does: docs/assessment-and-screening.md §3.
POLICY_PACK_VERSION = 2
DEFAULT_POLICY_RULES = [
    # every student of a poor household, at any stage (义务教育 生活补助, 高中 助学金, 中高职 雨露计划 ...): one education
    # aid of any kind in the last year covers the household's students (receipts are per household)
    ("education_aid", "贫困家庭学生教育资助", "school", "member",
     "household_poor and is_student", "received_kind > 0", "建档立卡学生生活补助", "jiaoyu", "education"),
    # every member of a poor household is insured (城乡居民医保) with the individual contribution paid by the budget:
    # a member not insured, or a household whose contribution was not subsidised this year, is owed
    ("medical_subsidy", "贫困人口参加城乡居民医保个人缴费补贴", "medical", "member",
     "household_poor", "rural_medical and received > 0", "新农合个人缴费资助", "weiji", "medical"),
    # a C- or D-rated house of a poor household, renovated once (at any date)
    ("housing_renovation", "C级、D级危房改造", "housing", "household",
     "household_poor and dilapidated_grade in [\"C\", \"D\", \"C级\", \"D级\"]",
     "received_ever > 0", "农村危房改造补助", "zhujian", "housing"),
    # 两项制度衔接: a poor household without labour below the 低保 line; 特困供养 (属性 3, 4) is the other, higher guarantee
    ("dibao", "符合条件家庭纳入农村低保", "food", "household",
     "household_poor and labour_count == 0 and per_capita_income < dibao_line and not attribute in [\"3\", \"4\"]",
     "received > 0 or dibao_members > 0 or count_dibao > 0 or attribute == \"2\"", "农村低保", "minzheng",
     "social_security"),
    # 以奖代补: an award for an industry the household runs (its leading industry), not for owning land
    ("industry_award", "产业发展奖补", "food", "household",
     "household_poor and labour_count > 0 and not leading_industry in [\"\", \"外出务工\"]", "received_kind > 0",
     "产业发展扶持资金", "nongye", "industry"),
    # 小额信贷 is voluntary: owed to a household short of funds (致贫原因缺资金) with a member of 18-60 able to work, that
    # has neither a loan nor the interest subsidy
    ("microcredit", "扶贫小额信贷(有劳动能力、有发展意愿)", "food", "household",
     "household_poor and lacks_funds and labour_18_60 > 0", "received_ever > 0 or loans > 0", "扶贫小额信贷贴息",
     "caizheng", "credit"),
]
# The rule texts of earlier packs, to recognise a rule the county never edited: {code: [(eligible, covered), ...]}
EARLIER_POLICY_RULES = {
    "education_aid": [("household_poor and (is_student or count_student > 0)", "received > 0")],
    "medical_subsidy": [("household_poor", "received > 0 or rural_medical")],
    "housing_renovation": [("household_poor and (dilapidated_grade in [\"C\", \"D\", \"C级\", \"D级\"] or "
                            "count_housing_safety > 0)", "received > 0")],
    "dibao": [("household_poor and labour_count == 0 and per_capita_income < dibao_line",
               "received > 0 or dibao_members > 0 or count_dibao > 0")],
    "industry_award": [("household_poor and labour_count > 0 and land_cultivated > 0", "received > 0")],
    "microcredit": [("household_poor and labour_count > 0 and head_age >= 18 and head_age <= 60", "received > 0")],
}
# 两不愁三保障: each guarantee and what shows it (a household is 清零 when no open gap names it)
GUARANTEES = [("food", _("Enough food")), ("clothing", _("Enough clothing")),
              ("school", _("Compulsory education guaranteed")), ("medical", _("Basic medical care guaranteed")),
              ("housing", _("Safe housing guaranteed")), ("water", _("Safe drinking water guaranteed"))]
