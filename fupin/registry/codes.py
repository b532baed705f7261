"""The code lists of the national 建档立卡 forms (domain.md §3), loaded into CodeList/CodeItem by `load_codes`.

Households and persons store the code; pages show the label. A county extends a list in the admin (or by editing
the CodeItem table), never by changing this file: this file is only the starting content.
"""

from django.utils.translation import pgettext_lazy

ATTRIBUTE = [("1", "一般贫困户"), ("2", "低保贫困户"), ("3", "特困供养贫困户"), ("4", "五保贫困户")]
CAUSE = [("1", "因病"), ("2", "因残"), ("3", "因学"), ("4", "因灾"), ("5", "缺土地"), ("6", "缺水"), ("7", "缺技术"),
         ("8", "缺劳力"), ("9", "缺资金"), ("10", "交通条件落后"), ("11", "自身发展动力不足"), ("12", "因婚"),
         ("13", "因丧"), ("99", "其它")]
# National codes 0, 1, 3, 4; 2 (预脱贫) is the exit procedure's intermediate state, not on the national list.
STATUS = [("0", "未脱贫"), ("2", "预脱贫"), ("1", "已脱贫(享受政策)"), ("4", "已脱贫(不再享受政策)"), ("3", "返贫")]
STATUS_COLORS = {"0": "#d7301f", "2": "#f2b705", "1": "#2e8b57", "4": "#1a9850", "3": "#7b3294"}
STANDARD = [("national", "国家标准"), ("provincial", "省定标准"), ("municipal", "市定标准")]
MONITORING_CATEGORY = [("unstable", "脱贫不稳定户"), ("edge", "边缘易致贫户"), ("sudden", "突发严重困难户")]
MONITORING_RISK = [("1", "因病"), ("2", "因残"), ("3", "因学"), ("4", "因自然灾害"), ("5", "因务工就业不稳"),
                   ("6", "缺劳动力"), ("7", "因安全住房"), ("8", "因安全饮水"), ("99", "其他")]
LABOUR = [("1", "普通劳动力"), ("2", "技能劳动力"), ("3", "弱劳动力或半劳动力"), ("4", "丧失劳动力"), ("5", "无劳动力")]
HEALTH = [("1", "健康"), ("2", "长期慢性病"), ("3", "患有大病"), ("4", "残疾")]
EDUCATION = [("1", "文盲或半文盲"), ("2", "小学"), ("3", "初中"), ("4", "高中"), ("5", "大专"), ("6", "本科及以上")]
SCHOOLING = [("01", "学龄前儿童"), ("02", "学前教育"), ("03", "小学"), ("04", "七年级"), ("05", "八年级"), ("06", "九年级"),
             ("07", "普通高中一年级"), ("08", "普通高中二年级"), ("09", "普通高中三年级"), ("10", "中职一年级"),
             ("11", "中职二年级"), ("12", "中职三年级"), ("13", "高职高专一年级"), ("14", "高职高专二年级"),
             ("15", "高职高专三年级"), ("16", "技师学院一年级"), ("17", "技师学院二年级"), ("18", "技师学院三年级"),
             ("19", "技师学院四年级"), ("20", "本科一年级"), ("21", "本科二年级"), ("22", "本科三年级"), ("23", "本科四年级"),
             ("24", "本科五年级"), ("25", "硕士研究生及以上")]
RELATIONSHIP = [(x, x) for x in (
    "户主", "配偶", "之子", "之女", "之儿媳", "之女婿", "之孙子", "之孙女", "之外孙子", "之外孙女", "之父", "之母", "之岳父",
    "之岳母", "之公公", "之婆婆", "之祖父", "之祖母", "之外祖父", "之外祖母", "之兄弟姐妹", "之曾孙子", "之曾孙女", "之侄儿",
    "之侄女", "之兄弟媳妇", "之叔伯", "其他")]
POLITICAL = [("1", "中共党员"), ("2", "中共预备党员"), ("3", "共青团员"), ("4", "群众")]
DILAPIDATED = [("", "否"), ("A", "A级"), ("B", "B级"), ("C", "C级"), ("D", "D级")]
SEX = [("0", "未知"), ("1", "男"), ("2", "女"), ("9", "未说明")]
ETHNICITY = [("01", "汉族"), ("02", "蒙古族"), ("03", "回族"), ("04", "藏族"), ("05", "维吾尔族"), ("06", "苗族"),
             ("07", "彝族"), ("08", "壮族"), ("09", "布依族"), ("10", "朝鲜族"), ("11", "满族"), ("12", "侗族"),
             ("13", "瑶族"), ("14", "白族"), ("15", "土家族"), ("16", "哈尼族"), ("17", "哈萨克族"), ("18", "傣族"),
             ("97", "其他"), ("98", "外国血统中国籍人士")]
HOUSING_STRUCTURE = [("1", "钢筋混凝土"), ("2", "砖混"), ("3", "砖瓦砖木"), ("4", "竹草土坯"), ("9", "其他")]
WATER_SOURCE = [("1", "净化自来水"), ("2", "受保护井泉水"), ("3", "不受保护井泉水"), ("4", "江河湖泊水"), ("5", "雨水"),
                ("6", "桶装水"), ("9", "其他")]
DISABILITY_CATEGORY = [("1", "视力"), ("2", "听力"), ("3", "言语"), ("4", "肢体"), ("5", "智力"), ("6", "精神"), ("7", "多重")]

CODE_LISTS = {
    "attribute": ("贫困户属性", ATTRIBUTE),
    "cause": ("致贫原因", CAUSE),
    "status": ("脱贫状态", STATUS),
    "standard": ("识别标准", STANDARD),
    "monitoring_category": ("监测对象类别", MONITORING_CATEGORY),
    "monitoring_risk": ("风险类型", MONITORING_RISK),
    "labour": ("劳动技能", LABOUR),
    "health": ("健康状况", HEALTH),
    "education": ("文化程度", EDUCATION),
    "schooling": ("在校生状况", SCHOOLING),
    "relationship": ("与户主关系", RELATIONSHIP),
    "political": ("政治面貌", POLITICAL),
    "dilapidated": ("危房等级", DILAPIDATED),
    "sex": ("性别", SEX),
    "ethnicity": ("民族", ETHNICITY),
    "housing_structure": ("住房结构", HOUSING_STRUCTURE),
    "water_source": ("饮水来源", WATER_SOURCE),
    "disability_category": ("残疾类别", DISABILITY_CATEGORY),
}

POVERTY_LINES = {2011: 2536, 2012: 2625, 2013: 2736, 2014: 2800, 2015: 2855, 2016: 2952}

# The built-in labels in English, one message each (context "code list"; the zh-Hans catalogue gives back the label
# above). Pages show a built-in label in the user's language, and a label the county changed as the county wrote it
# (`CodeTables.shown`). Every list is named here; a code a county adds shows as the county wrote it.
ENGLISH: dict[str, dict[str, str]] = {
    "attribute": {"1": pgettext_lazy("code list", "ordinary poor household"),
                  "2": pgettext_lazy("code list", "poor household on minimum living allowance"),
                  "3": pgettext_lazy("code list", "poor household in destitute-support care"),
                  "4": pgettext_lazy("code list", "poor household under the five guarantees")},
    "cause": {"1": pgettext_lazy("code list", "illness"), "2": pgettext_lazy("code list", "disability"),
              "3": pgettext_lazy("code list", "schooling costs"), "4": pgettext_lazy("code list", "disaster"),
              "5": pgettext_lazy("code list", "lack of land"), "6": pgettext_lazy("code list", "lack of water"),
              "7": pgettext_lazy("code list", "lack of skills"), "8": pgettext_lazy("code list", "lack of labour"),
              "9": pgettext_lazy("code list", "lack of funds"),
              "10": pgettext_lazy("code list", "poor transport"),
              "11": pgettext_lazy("code list", "lack of drive to develop"),
              "12": pgettext_lazy("code list", "marriage"), "13": pgettext_lazy("code list", "funeral"),
              "99": pgettext_lazy("code list", "other cause")},
    "status": {"0": pgettext_lazy("code list", "not out of poverty"),
               "2": pgettext_lazy("code list", "about to exit poverty"),
               "1": pgettext_lazy("code list", "out of poverty (still supported)"),
               "4": pgettext_lazy("code list", "out of poverty (no longer supported)"),
               "3": pgettext_lazy("code list", "back in poverty")},
    "standard": {"national": pgettext_lazy("code list", "national standard"),
                 "provincial": pgettext_lazy("code list", "provincial standard"),
                 "municipal": pgettext_lazy("code list", "municipal standard")},
    "monitoring_category": {"unstable": pgettext_lazy("code list", "unstable after exit"),
                            "edge": pgettext_lazy("code list", "on the edge of poverty"),
                            "sudden": pgettext_lazy("code list", "sudden severe hardship")},
    "sex": {"0": pgettext_lazy("code list", "unknown sex"), "1": pgettext_lazy("code list", "male"),
            "2": pgettext_lazy("code list", "female"), "9": pgettext_lazy("code list", "sex not stated")},
    "monitoring_risk": {"1": pgettext_lazy("code list", "illness"), "2": pgettext_lazy("code list", "disability"),
                       "3": pgettext_lazy("code list", "schooling costs"),
                       "4": pgettext_lazy("code list", "natural disaster"),
                       "5": pgettext_lazy("code list", "unstable work"),
                       "6": pgettext_lazy("code list", "shortage of labour force"),
                       "7": pgettext_lazy("code list", "unsafe housing"),
                       "8": pgettext_lazy("code list", "unsafe drinking water"),
                       "99": pgettext_lazy("code list", "other risk")},
    "labour": {"1": pgettext_lazy("code list", "ordinary labour"), "2": pgettext_lazy("code list", "skilled labour"),
              "3": pgettext_lazy("code list", "weak or half labour"),
              "4": pgettext_lazy("code list", "lost the ability to work"),
              "5": pgettext_lazy("code list", "no labour capacity")},
    "health": {"1": pgettext_lazy("code list", "healthy"),
              "2": pgettext_lazy("code list", "long-term chronic illness"),
              "3": pgettext_lazy("code list", "serious illness"), "4": pgettext_lazy("code list", "disabled")},
    "education": {"1": pgettext_lazy("code list", "illiterate or semi-literate"),
                 "2": pgettext_lazy("code list", "primary school"),
                 "3": pgettext_lazy("code list", "junior secondary school"),
                 "4": pgettext_lazy("code list", "senior secondary school"),
                 "5": pgettext_lazy("code list", "junior college"),
                 "6": pgettext_lazy("code list", "bachelor's degree or above")},
    "schooling": {"01": pgettext_lazy("code list", "preschool-age child"),
                 "02": pgettext_lazy("code list", "in preschool education"),
                 "03": pgettext_lazy("code list", "in primary school"), "04": pgettext_lazy("code list", "grade 7"),
                 "05": pgettext_lazy("code list", "grade 8"), "06": pgettext_lazy("code list", "grade 9"),
                 "07": pgettext_lazy("code list", "senior high school, year 1"),
                 "08": pgettext_lazy("code list", "senior high school, year 2"),
                 "09": pgettext_lazy("code list", "senior high school, year 3"),
                 "10": pgettext_lazy("code list", "secondary vocational school, year 1"),
                 "11": pgettext_lazy("code list", "secondary vocational school, year 2"),
                 "12": pgettext_lazy("code list", "secondary vocational school, year 3"),
                 "13": pgettext_lazy("code list", "higher vocational college, year 1"),
                 "14": pgettext_lazy("code list", "higher vocational college, year 2"),
                 "15": pgettext_lazy("code list", "higher vocational college, year 3"),
                 "16": pgettext_lazy("code list", "technician college, year 1"),
                 "17": pgettext_lazy("code list", "technician college, year 2"),
                 "18": pgettext_lazy("code list", "technician college, year 3"),
                 "19": pgettext_lazy("code list", "technician college, year 4"),
                 "20": pgettext_lazy("code list", "undergraduate, year 1"),
                 "21": pgettext_lazy("code list", "undergraduate, year 2"),
                 "22": pgettext_lazy("code list", "undergraduate, year 3"),
                 "23": pgettext_lazy("code list", "undergraduate, year 4"),
                 "24": pgettext_lazy("code list", "undergraduate, year 5"),
                 "25": pgettext_lazy("code list", "postgraduate")},
    "relationship": {"户主": pgettext_lazy("code list", "head of household"),
                    "配偶": pgettext_lazy("code list", "spouse"), "之子": pgettext_lazy("code list", "son"),
                    "之女": pgettext_lazy("code list", "daughter"),
                    "之儿媳": pgettext_lazy("code list", "daughter-in-law"),
                    "之女婿": pgettext_lazy("code list", "son-in-law"), "之孙子": pgettext_lazy("code list", "grandson"),
                    "之孙女": pgettext_lazy("code list", "granddaughter"),
                    "之外孙子": pgettext_lazy("code list", "daughter's son"),
                    "之外孙女": pgettext_lazy("code list", "daughter's daughter"),
                    "之父": pgettext_lazy("code list", "father"), "之母": pgettext_lazy("code list", "mother"),
                    "之岳父": pgettext_lazy("code list", "wife's father"),
                    "之岳母": pgettext_lazy("code list", "wife's mother"),
                    "之公公": pgettext_lazy("code list", "husband's father"),
                    "之婆婆": pgettext_lazy("code list", "husband's mother"),
                    "之祖父": pgettext_lazy("code list", "grandfather"),
                    "之祖母": pgettext_lazy("code list", "grandmother"),
                    "之外祖父": pgettext_lazy("code list", "maternal grandfather"),
                    "之外祖母": pgettext_lazy("code list", "maternal grandmother"),
                    "之兄弟姐妹": pgettext_lazy("code list", "sibling"),
                    "之曾孙子": pgettext_lazy("code list", "great-grandson"),
                    "之曾孙女": pgettext_lazy("code list", "great-granddaughter"),
                    "之侄儿": pgettext_lazy("code list", "nephew"), "之侄女": pgettext_lazy("code list", "niece"),
                    "之兄弟媳妇": pgettext_lazy("code list", "brother's wife"),
                    "之叔伯": pgettext_lazy("code list", "uncle"), "其他": pgettext_lazy("code list", "other relation")},
    "political": {"1": pgettext_lazy("code list", "CPC member"),
                 "2": pgettext_lazy("code list", "CPC probationary member"),
                 "3": pgettext_lazy("code list", "Communist Youth League member"),
                 "4": pgettext_lazy("code list", "no party affiliation")},
    "dilapidated": {"": pgettext_lazy("code list", "not dilapidated"), "A": pgettext_lazy("code list", "grade A"),
                   "B": pgettext_lazy("code list", "grade B"), "C": pgettext_lazy("code list", "grade C"),
                   "D": pgettext_lazy("code list", "grade D")},
    "ethnicity": {"01": pgettext_lazy("code list", "Han"), "02": pgettext_lazy("code list", "Mongol"),
                 "03": pgettext_lazy("code list", "Hui"), "04": pgettext_lazy("code list", "Tibetan"),
                 "05": pgettext_lazy("code list", "Uyghur"), "06": pgettext_lazy("code list", "Miao"),
                 "07": pgettext_lazy("code list", "Yi"), "08": pgettext_lazy("code list", "Zhuang"),
                 "09": pgettext_lazy("code list", "Bouyei"), "10": pgettext_lazy("code list", "Korean"),
                 "11": pgettext_lazy("code list", "Manchu"), "12": pgettext_lazy("code list", "Dong"),
                 "13": pgettext_lazy("code list", "Yao"), "14": pgettext_lazy("code list", "Bai"),
                 "15": pgettext_lazy("code list", "Tujia"), "16": pgettext_lazy("code list", "Hani"),
                 "17": pgettext_lazy("code list", "Kazakh"), "18": pgettext_lazy("code list", "Dai"),
                 "97": pgettext_lazy("code list", "other ethnic group"),
                 "98": pgettext_lazy("code list", "Chinese citizen of foreign origin")},
    "housing_structure": {"1": pgettext_lazy("code list", "reinforced concrete"),
                         "2": pgettext_lazy("code list", "brick and concrete"),
                         "3": pgettext_lazy("code list", "brick, tile and timber"),
                         "4": pgettext_lazy("code list", "bamboo, thatch or adobe"),
                         "9": pgettext_lazy("code list", "other structure")},
    "water_source": {"1": pgettext_lazy("code list", "treated tap water"),
                    "2": pgettext_lazy("code list", "protected well or spring"),
                    "3": pgettext_lazy("code list", "unprotected well or spring"),
                    "4": pgettext_lazy("code list", "river or lake water"),
                    "5": pgettext_lazy("code list", "rainwater"), "6": pgettext_lazy("code list", "bottled water"),
                    "9": pgettext_lazy("code list", "other water source")},
    "disability_category": {"1": pgettext_lazy("code list", "visual disability"),
                           "2": pgettext_lazy("code list", "hearing disability"),
                           "3": pgettext_lazy("code list", "speech disability"),
                           "4": pgettext_lazy("code list", "physical disability"),
                           "5": pgettext_lazy("code list", "intellectual disability"),
                           "6": pgettext_lazy("code list", "mental disability"),
                           "7": pgettext_lazy("code list", "multiple disabilities")},
}
