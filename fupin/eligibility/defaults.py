"""The default rule pack: the county's starting 十不准 / 五优先 / 四看四算, loaded as rule set version 1.

Each rule: (code, kind, name, description, subject, expression, evidence fields, group). Rules over status and
category fields (机动车状态, 登记状态, 房屋性质, 规划用途, 状态, 人员类别) compare *mapped* values: the rule set's value
mappings (defaults in `value_mappings.json`) turn `A-正常` into `正常`, `存续(在营、开业、在册)` into `存续`. The subject is a source
code (the expression sees that source's record fields plus member and household facts), "member" or "household".
A county changes rules by drafting a new version in the web pages, never by editing this file.
"""

from __future__ import annotations

EXCLUSION = [
    ("payroll", "财政供养", "家庭成员在财政供养人员名单中(在职或退休)", "payroll",
     'is_blank(状态) or 状态 in ["在职", "退休", "离休"]',
     ["姓名", "单位名称", "人员类别", "状态"]),
    ("vehicle", "拥有小汽车", "家庭成员名下有状态正常的轿车或客车(不论价格);拖拉机、三轮及低速车、货车、摩托车以及注销、报废、"
     "转移的车辆不算", "vehicle",
     '(contains(车辆类型, "轿车") or contains(车辆类型, "客车")) and 机动车状态 == "正常" '
     'and not contains_any(车辆类型, "货车", "拖拉机", "三轮", "低速", "摩托")',
     ["号牌号码", "车辆类型", "机动车状态", "购置价格"]),
    ("business", "经营企业或个体户", "家庭成员是登记状态为存续、在业或开业的企业或个体工商户的法定代表人、负责人或经营者;"
     "注销、吊销的以及农民专业合作社不算", "business",
     '登记状态 == "存续" and not contains(市场主体类型, "合作社") and not contains(企业名称, "专业合作社")',
     ["企业名称", "市场主体类型", "登记状态", "注册资本"]),
    ("property", "拥有商品房或商业用房", "家庭成员拥有房屋性质为商品房、或规划用途为商业(商服)的不动产;宅基地和自建住房不算",
     "property",
     '房屋性质 == "商品房" or 规划用途 == "商业"',
     ["坐落", "房屋性质", "规划用途", "建筑面积"]),
    ("deceased", "死亡人员仍在册", "在册家庭成员有死亡注销记录", "death",
     "true", ["姓名", "死亡日期", "注销类别"]),
    ("duplicate_member", "一人多户", "同一人(同一证件号码)登记在不止一个贫困户中(各户均标出)", "member",
     "same_id_households > 1", []),
    ("village_cadre", "村干部", "家庭成员是在职村干部(财政供养名单中人员类别为村干部)", "payroll",
     '人员类别 == "村干部"', ["人员类别", "单位名称"]),
    ("income_above_line", "收入超过扶贫标准", "未脱贫户的人均纯收入高于当年扶贫标准", "household",
     'per_capita_income > poverty_line and poverty_status in ["0", "3", "未脱贫", "返贫"]', []),
]

PRIORITY = [
    ("no_labour", "无劳动力", "家庭中没有劳动力", "household", "members > 0 and labour_count == 0"),
    ("serious_illness", "重病", "家庭成员患大病或长期慢性病", "household", "sick_count > 0"),
    ("severe_disability", "重度残疾", "家庭成员持一、二级残疾人证", "disability",
     'contains_any(残疾等级, "一级", "二级") or 残疾等级 in ["1", "2"]'),
    ("elderly_alone", "独居老人", "一人户且年满60岁", "household", "members == 1 and elderly_count == 1"),
    ("orphan", "孤儿", "家庭成员都未满16岁", "household", "members > 0 and children_count == members"),
]

SCORING = [
    ("look_house", "一看房", "危房等级与住房结构", "household",
     'if(contains(dilapidated_grade, "D") or count_housing_safety_d > 0, 25, if(contains(dilapidated_grade, "C"), 15, 0))'
     ' + if(housing_structure in ["4", "竹草土坯"], 10, 0)', "看房"),
    ("look_grain", "二看粮", "人均耕地", "household",
     "if(land_per_capita is null, 0, if(land_per_capita < 0.5, 15, if(land_per_capita < 1, 8, 0)))", "看粮"),
    ("look_labour", "三看劳动力强不强", "劳动力人数与家庭人口之比", "household",
     "if(labour_count == 0, 25, if(labour_count * 2 < members, 12, 0))", "看劳力"),
    ("look_students", "四看家中有没有读书郎", "在校学生人数", "household",
     "min(max(student_count, count_student) * 10, 20)", "看读书郎"),
    ("count_income", "算收入", "人均纯收入低于扶贫标准", "household",
     "if(per_capita_income > 0 and per_capita_income < poverty_line, 15, 0)", "算收入"),
    ("count_spending", "算支出", "医疗个人自付", "household",
     "if(medical_self_pay > 10000, 15, if(medical_self_pay > 3000, 8, 0))", "算支出"),
    ("count_assets", "算资产", "名下车辆、商品房、企业(扣分)", "household",
     "- min(count_vehicle * 5 + count_business * 5, 20)", "算资产"),
    ("count_debts", "算负债", "低保、特困等困难救助(加分)", "household",
     "if(count_dibao > 0, 10, 0)", "算负债"),
]


def default_rules() -> list[dict]:
    rules = []
    for i, (code, name, desc, subject, expr, evidence) in enumerate(EXCLUSION, start=1):
        rules.append({"code": code, "kind": "exclusion", "name": name, "description": desc, "subject": subject,
                      "expression": expr, "evidence_fields": evidence, "group": "", "order": i})
    for i, (code, name, desc, subject, expr) in enumerate(PRIORITY, start=1):
        rules.append({"code": code, "kind": "priority", "name": name, "description": desc, "subject": subject,
                      "expression": expr, "evidence_fields": [], "group": "", "order": i})
    for i, (code, name, desc, subject, expr, group) in enumerate(SCORING, start=1):
        rules.append({"code": code, "kind": "scoring", "name": name, "description": desc, "subject": subject,
                      "expression": expr, "evidence_fields": [], "group": group, "order": i})
    return rules
