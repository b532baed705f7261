"""The default pack of department sources (domain.md §6): fields, header synonyms, linkage roles, departments.

This is starting content only: `sources_ensure_defaults` loads it into `Source` rows once, after which a county
edits sources (names, synonyms, new fields) in the database. Canonical field names are Chinese, as the rules
written by county staff name them (车辆类型, 登记状态 ...).
"""

from __future__ import annotations

ID_SYNONYMS = ["身份证号", "证件号码", "公民身份号码", "身份证号码", "SFZH", "身份号码", "身份证", "证件号",
               "身份证明号码", "身份证件号", "身份证件号码", "证照号码"]
BIRTH_SYNONYMS = ["出生日期", "出生年月", "出生年月日", "生日", "CSRQ"]
SEX_SYNONYMS = ["性别", "XB"]
ADDRESS_SYNONYMS = ["住址", "地址", "家庭住址", "户籍地址", "住所地址", "现住址", "居住地址", "联系地址"]


def _f(name: str, role: str = "text", *synonyms: str, required: bool = False) -> dict:
    return {"name": name, "role": role, "required": required, "synonyms": list(synonyms)}


def _id(name: str, *extra: str) -> dict:
    return _f(name, "id", *[s for s in (*ID_SYNONYMS, *extra) if s != name], required=True)


def _name(name: str, *extra: str) -> dict:
    synonyms = [*extra, "姓名"] if name != "姓名" and "姓名" not in extra else list(extra)
    return _f(name, "name", *synonyms, required=True)


def _common(address: str = "住址") -> list[dict]:
    return [
        _f("出生日期", "birth_date", *[s for s in BIRTH_SYNONYMS if s != "出生日期"]),
        _f("性别", "sex", *SEX_SYNONYMS[1:]),
        _f(address, "address", *[s for s in ADDRESS_SYNONYMS if s != address]),
    ]


# code, name, department code, department name, what one row is, fields
DEFAULT_SOURCES: list[tuple[str, str, str, str, str, list[dict]]] = [
    ("household_register", "户籍人口", "gongan", "公安局", "一名登记户籍人口", [
        _name("姓名", "人员姓名", "XM"), _id("公民身份号码"), _f("民族"), _f("户号", "text", "户编号"),
        _f("与户主关系", "text", "关系"), *_common("户籍地址")]),
    ("death", "死亡注销", "gongan", "公安局", "一条死亡注销登记", [
        _name("姓名", "死者姓名"), _id("公民身份号码"), _f("死亡日期", "date", "注销日期", "死亡时间"),
        _f("注销类别", "text", "注销原因"), *_common("户籍地址")]),
    ("vehicle", "机动车登记", "gongan", "公安局", "一辆机动车", [
        _name("机动车所有人", "所有人", "车主", "车主姓名"), _id("身份证明号码"), _f("号牌号码", "text", "车牌号", "号牌"),
        _f("车辆类型", "text", "车型", "车辆种类"), _f("使用性质"), _f("机动车状态", "text", "车辆状态", "状态"),
        _f("初次登记日期", "date", "注册日期", "登记日期"), _f("购置价格", "number", "购买价格", "价格"),
        *_common("住所地址")]),
    ("business", "市场主体登记", "gongshang", "工商局", "一个登记的市场主体", [
        _f("企业名称", "text", "名称", "主体名称", "字号名称"),
        _f("市场主体类型", "text", "企业类型", "主体类型", "类型"),
        _name("法定代表人", "负责人", "经营者", "投资人", "法定代表人(负责人)", "法定代表人/负责人", "法人代表"),
        _id("证件号码", "法定代表人证件号码", "负责人证件号码"), _f("注册资本", "number", "注册资金", "资金数额"),
        _f("成立日期", "date", "登记日期"), _f("登记状态", "text", "经营状态", "企业状态", "状态"),
        *_common("住所")]),
    ("property", "不动产登记", "guotu", "国土资源局", "一项不动产权利", [
        _name("权利人", "权利人姓名", "产权人"), _id("证件号", "权利人证件号", "权利人证件号码"),
        _f("坐落", "address", "房屋坐落", "地址", "住址"), _f("房屋性质", "text", "房屋类型"),
        _f("规划用途", "text", "用途", "房屋用途"), _f("建筑面积", "number", "面积"),
        _f("登簿时间", "date", "登记时间", "登簿日期"), _f("出生日期", "birth_date", *BIRTH_SYNONYMS[1:]),
        _f("性别", "sex")]),
    ("payroll", "财政供养人员", "caizheng", "财政局", "一名财政供养人员", [
        _name("姓名"), _id("身份证号码"), _f("单位名称", "text", "工作单位", "单位"), _f("人员类别", "text", "人员类型"),
        _f("编制类型", "text", "编制"), _f("状态", "text", "人员状态", "在职状态"), *_common()]),
    ("dibao", "低保特困", "minzheng", "民政局", "一名低保或特困供养对象", [
        _name("姓名", "保障对象姓名"), _id("身份证号"), _f("保障类型", "text", "保障类别"),
        _f("月保障金额", "number", "保障金额", "月发放金额"), _f("乡镇", "text", "所属乡镇"), *_common()]),
    ("disability", "残疾人证", "canlian", "残联", "一名持证残疾人", [
        _name("姓名"), _f("残疾人证号", "disability_card", "残疾证号", "证号", *ID_SYNONYMS, required=True),
        _f("残疾类别", "text", "残疾类型"), _f("残疾等级", "text", "等级"), *_common()]),
    ("social_insurance", "社会保险", "renshe", "人社局", "一名参保人或待遇领取人", [
        _name("姓名"), _id("身份证号码"), _f("参保险种", "text", "险种"), _f("参保状态", "text", "缴费状态"),
        _f("待遇", "number", "月待遇", "待遇金额"), *_common()]),
    ("student", "在校学生", "jiaoyu", "教育局", "一名在校学生", [
        _name("学生姓名", "姓名"), _id("身份证件号"), _f("学校", "text", "学校名称", "就读学校"),
        _f("学段/年级", "text", "年级", "学段", "就读年级"), *_common("家庭住址")]),
    ("medical", "医疗救治", "weiji", "卫计局", "一条医疗费用记录", [
        _name("姓名", "患者姓名"), _id("身份证号"), _f("病种", "text", "疾病名称", "诊断"),
        _f("医疗总费用", "number", "总费用", "费用总额"), _f("自付", "number", "个人自付", "自付金额"), *_common()]),
    ("housing_safety", "危房鉴定", "zhujian", "住建局", "一户危房鉴定", [
        _name("户主姓名", "户主", "姓名"), _id("身份证号"), _f("危房等级", "text", "鉴定等级", "等级"),
        _f("改造状态", "text", "改造情况"), *_common()]),
    ("land", "土地承包", "nongye", "农业局", "一份土地承包合同", [
        _name("承包方代表", "承包户主", "户主姓名"), _id("身份证号"), _f("承包面积", "number", "合同面积", "面积"),
        *_common("地址")]),
    ("forest", "林权", "linye", "林业局", "一项林权", [
        _name("林权权利人", "权利人", "户主姓名"), _id("身份证号"), _f("林地面积", "number", "面积"), *_common("地址")]),
]

SOURCE_CODES = [s[0] for s in DEFAULT_SOURCES]
DEPARTMENT_NAMES = {dept: dname for _, _, dept, dname, _, _ in DEFAULT_SOURCES}
