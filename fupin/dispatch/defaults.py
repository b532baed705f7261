"""The starting configuration a county gets with `dispatch_setup_defaults`: work order types and routing rules.

This is only the starting content: once loaded, types and rules are rows the county edits (audited) on the rules
page. Department codes are those of the 2016 Yidu demo (民政 minzheng, 人社 renshe, 住建 zhujian, 卫计 weiji ...); a
rule whose department does not exist is skipped and reported.
"""

# code, name, days to accept, days to resolve, days overdue before the level above is told
ORDER_TYPES = [
    ("medical", "医疗救助", 2, 15, 5),
    ("education", "教育资助", 2, 20, 5),
    ("housing", "危房改造", 3, 60, 10),
    ("social_security", "低保特困救助", 2, 20, 5),
    ("employment", "就业培训", 2, 30, 7),
    ("industry", "产业扶持", 3, 30, 7),
    ("credit", "小额信贷", 2, 20, 5),
    ("disability", "残疾人帮扶", 2, 20, 5),
    ("land", "土地林权", 3, 30, 7),
    ("relocation", "易地搬迁", 3, 60, 10),
    ("hukou", "户籍证件", 2, 10, 3),
    ("verify", "比对疑点核实", 2, 10, 3),
    ("other", "其他困难", 2, 15, 5),
]

# Which work order type a plan measure kind (fupin.assistance MeasureKind) or a 民情 category becomes.
MEASURE_KIND_TYPE = {
    "industry": "industry", "employment": "employment", "education": "education", "medical": "medical",
    "housing": "housing", "relocation": "relocation", "social_security": "social_security", "credit": "credit",
}
CATEGORY_TYPE = {
    "medical": "medical", "education": "education", "housing": "housing", "employment": "employment",
    "industry": "industry", "credit": "credit", "living": "social_security", "identification": "other",
}
# A poverty cause's usual need, when nothing more specific is known (因病 → 医疗救助 ...).
CAUSE_TYPE = {"1": "medical", "2": "disability", "3": "education", "4": "social_security", "5": "land",
              "7": "employment", "8": "social_security", "9": "credit"}

# Words in a need's own text that suggest its type ("希望推荐就近务工" -> 就业培训), tried before the household's main
# cause: the person recording the need confirms or changes the suggestion.
NEED_WORDS = [
    ("employment", ("务工", "就业", "工作", "打工", "招聘", "技能培训", "培训", "岗位", "公益岗")),
    ("medical", ("看病", "就医", "住院", "医疗", "报销", "药", "慢性病", "大病", "手术")),
    ("education", ("上学", "学费", "助学", "读书", "学生", "入学", "辍学", "教育")),
    ("housing", ("危房", "房屋", "住房", "漏雨", "改造房", "修房")),
    ("relocation", ("搬迁", "移民")),
    ("industry", ("种植", "养殖", "产业", "种苗", "化肥", "销路", "合作社", "农技")),
    ("credit", ("贷款", "信贷", "借款", "贴息")),
    ("social_security", ("低保", "特困", "五保", "养老", "救助", "补助")),
    ("disability", ("残疾", "残疾证", "轮椅", "助残")),
    ("land", ("土地", "林权", "宅基地", "确权", "承包地")),
    ("hukou", ("户口", "身份证", "户籍", "落户")),
]

# Which department verifies a comparison finding, by the department source it came from (domain.md §6).
SOURCE_DEPARTMENT = {
    "household_register": "gongan", "death": "gongan", "vehicle": "gongan", "business": "gongshang",
    "property": "guotu", "payroll": "caizheng", "dibao": "minzheng", "disability": "canlian",
    "social_insurance": "renshe", "student": "jiaoyu", "medical": "weiji", "housing_safety": "zhujian",
    "land": "nongye", "forest": "linye",
}

# priority, name, criteria, department code. Need types first, then the household's main cause, then the default.
RULES = [
    (10, "医疗救助→卫计局", {"order_type": "medical"}, "weiji"),
    (11, "教育资助→教育局", {"order_type": "education"}, "jiaoyu"),
    (12, "危房改造→住建局", {"order_type": "housing"}, "zhujian"),
    (13, "低保特困→民政局", {"order_type": "social_security"}, "minzheng"),
    (14, "就业培训→人社局", {"order_type": "employment"}, "renshe"),
    (15, "产业扶持→农业局", {"order_type": "industry"}, "nongye"),
    (16, "小额信贷→扶贫办", {"order_type": "credit"}, "fupinban"),
    (17, "残疾人帮扶→残联", {"order_type": "disability"}, "canlian"),
    (18, "土地林权→国土局", {"order_type": "land"}, "guotu"),
    (19, "易地搬迁→扶贫办", {"order_type": "relocation"}, "fupinban"),
    (20, "户籍证件→公安局", {"order_type": "hukou"}, "gongan"),
    (100, "因病致贫→卫计局", {"cause": "1"}, "weiji"),
    (101, "因残致贫→残联", {"cause": "2"}, "canlian"),
    (102, "因学致贫→教育局", {"cause": "3"}, "jiaoyu"),
    (103, "因灾致贫→民政局", {"cause": "4"}, "minzheng"),
    (104, "缺土地→国土局", {"cause": "5"}, "guotu"),
    (105, "缺水→农业局", {"cause": "6"}, "nongye"),
    (106, "缺技术→人社局", {"cause": "7"}, "renshe"),
    (107, "缺劳力→民政局", {"cause": "8"}, "minzheng"),
    (108, "缺资金→扶贫办", {"cause": "9"}, "fupinban"),
    (1000, "默认→扶贫办", {}, "fupinban"),
]
