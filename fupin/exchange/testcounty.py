"""The independent test county: department extracts written the way other counties' departments write them.

The regression generator (`testdata.make_county(style="regression")`) was designed together with the linkage: its
homophones came from the linkage's pinyin grouping, its headers from the sources' synonym list. This one imports
nothing from the linkage, the sources or the settings: its confusion tables, header spellings and rates are its own,
and it adds noise the linkage has no comparison level for. Every department row's truth names the noise it carries
(`truth["links"][i]["noise"]`), so precision and recall can be reported per kind.

Noise per row (rates of rows; a row may carry several kinds):
- names: `homophone` 3% (同音字, own table), `look_alike` 1.5% (形近字 王/玉, 未/末, 己/已 ...), `dialect_nl` 1%
  (兰/南, 刘/牛), `dialect_fh` 1% (胡/福, 辉/飞), `nasal` 1.5% (陈/程, 林/凌, 金/京);
- IDs: `masked_area` / `masked_year` (30% of the payroll, vehicle, business and property rows, half
  `420581********123X`, half `4205811980****123X`), `id_typo1` 1%, `id_typo2` 1% (two digits), `id_swap` 0.5%,
  `legacy15` 3%, `excel_number` (15% of the vehicle extract's full IDs), `id_format` 4% (spaces, apostrophe,
  full-width digits, lower-case x), `missing_id` 5%;
- birth dates: `date_swap` 3% of the rows that state one (day and month swapped when both are ≤ 12);
- addresses: `address_abbrev` 8% (no province/city, the town's 镇/乡 dropped, the village alone),
  `address_reorder` 4% (village before town), `moved_town` 2% (the person moved: the department writes the address
  of a village in another town, the roster keeps the old one).

File quirks (`quirks`, read by the ingestion side): `sheets` (xlsx extracts split over sheets 第1页, 第2页 ... of
at most `SHEET_ROWS` rows, each with the header), `footers` (合计 / 制表人 / 审核人 / 数据截至 rows under the data),
`dates` (mixed date forms: 2015年3月2日, 20150302, 2015.3.2, 2015/3/2, Excel date cells).
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path

from fupin.exchange.testdata import (  # the roster and the department fields are shared, not the linkage
    DIVISIONS_CSV,
    HIT_RULES,
    County,
    Person,
    _fields_for,
    _write_roster,
    fill_extract,
    note_truth,
    write_truth,
)

FILE_QUIRKS = ("sheets", "footers", "dates")
SHEET_ROWS = 5000
MASKED_SOURCES = ("payroll", "vehicle", "business", "property")
MASKED_SHARE = 0.30

# the generator's own confusion tables (pairs go both ways)
HOMOPHONES = ["晓小", "伟维", "静敬境", "明铭名", "平萍", "红宏鸿", "杰洁", "军君", "丽立", "芳方", "阳洋扬", "峰锋丰",
              "成诚", "林琳霖", "婷庭亭", "元源园媛", "欣新鑫", "青清庆", "玉宇", "龙隆", "荣容蓉", "学雪", "佳嘉", "秋求",
              "波博", "凤奉", "燕艳", "辉徽", "丹单"]
LOOK_ALIKE = ["王玉", "未末", "己已", "土士", "大太", "人入", "千干", "白自", "田由", "明朋", "林材", "军车", "文丈", "平乎",
              "刚冈", "金全", "春泰", "秀季", "晴睛", "候侯", "兵乒", "日曰", "贝见", "洋详", "飞乙"]
DIALECT_NL = ["兰南", "蓝男", "刘牛", "黎倪", "龙农", "凌宁", "玲宁", "娜拉", "梁娘", "雷内", "李你", "丽腻", "林宁"]
DIALECT_FH = ["胡福", "胡付", "辉飞", "华发", "红冯", "方黄", "芳荒", "凤红", "峰宏", "福湖", "慧费"]
NASAL = ["陈程", "林凌", "金京", "琴晴", "斌兵", "敏明", "彬冰", "新星", "芬风", "晨成", "进静", "勤庆", "琳玲", "珍征",
         "云永", "根庚", "彭盆", "英因", "平贫", "洪魂"]

# headers as departments write them (name column, ID column, birth date column or None, address column or None)
HEADERS = {
    "household_register": (["姓名", "XM"], ["公民身份号码", "身份证号"], ["出生日期", "出生年月日"], ["户籍地址", "住址"]),
    "death": (["姓名", "死者姓名"], ["公民身份号码", "身份证号码"], ["出生日期"], ["户籍地址"]),
    "vehicle": (["机动车所有人", "所有人", "车主姓名"], ["身份证明号码", "证件号码"], None, ["住所地址", "联系地址"]),
    "business": (["法定代表人", "经营者", "法定代表人(负责人)"], ["证件号码", "法定代表人证件号码"], None, ["住所"]),
    "property": (["权利人", "权利人姓名", "产权人"], ["证件号", "权利人证件号码"], None, ["坐落", "房屋坐落"]),
    "payroll": (["姓名"], ["身份证号码", "公民身份号码"], ["出生日期", "出生年月"], ["住址", "现住址"]),
    "dibao": (["姓名", "保障对象姓名"], ["身份证号", "身份证号码"], None, ["住址", "家庭住址"]),
    "disability": (["姓名"], ["残疾人证号", "残疾证号"], None, ["住址"]),
    "social_insurance": (["姓名"], ["身份证号码", "SFZH", "公民身份号码"], ["出生年月", "出生日期", "CSRQ"], ["住址"]),
    "student": (["学生姓名", "姓名"], ["身份证件号", "身份证号"], ["出生日期"], ["家庭住址", "现住址"]),
    "medical": (["患者姓名", "姓名"], ["身份证号"], None, ["住址", "现住址"]),
    "housing_safety": (["户主姓名", "户主"], ["身份证号", "身份证号码"], None, ["住址"]),
    "land": (["承包方代表", "承包户主"], ["身份证号", "证件号码"], None, ["地址"]),
    "forest": (["林权权利人", "权利人"], ["身份证号"], None, ["地址"]),
}
SHARES = {"household_register": 0.30, "death": 0.015, "vehicle": 0.0625, "business": 0.0375, "property": 0.075,
          "payroll": 0.03, "dibao": 0.05, "disability": 0.03, "social_insurance": 0.20, "student": 0.0875,
          "medical": 0.0625, "housing_safety": 0.0125, "land": 0.025, "forest": 0.0125}
FORMATS = {"household_register": "csv-gbk", "death": "xlsx", "vehicle": "xlsx", "business": "csv-utf8",
           "property": "xlsx", "payroll": "csv-gbk", "dibao": "xlsx", "disability": "csv-utf8",
           "social_insurance": "csv-gbk", "student": "xlsx", "medical": "csv-utf8", "housing_safety": "xlsx",
           "land": "csv-gbk", "forest": "csv-utf8"}
# the other columns of each source, in file order, as the generator writes them (keys of _fields_for's dicts)
OTHER_COLUMNS = {
    "household_register": ["民族", "户号", "与户主关系"], "death": ["死亡日期", "注销类别"],
    "vehicle": ["号牌号码", "车辆类型", "使用性质", "机动车状态", "初次登记日期", "购置价格"],
    "business": ["企业名称", "市场主体类型", "注册资本", "成立日期", "登记状态"],
    "property": ["房屋性质", "规划用途", "建筑面积", "登簿时间"], "payroll": ["单位名称", "人员类别", "编制类型", "状态"],
    "dibao": ["保障类型", "月保障金额", "乡镇"], "disability": ["残疾类别", "残疾等级"],
    "social_insurance": ["参保险种", "参保状态", "待遇"], "student": ["学校", "学段/年级"],
    "medical": ["病种", "医疗总费用", "自付"], "housing_safety": ["危房等级", "改造状态"], "land": ["承包面积"],
    "forest": ["林地面积"],
}
DATE_COLUMNS = {"死亡日期", "初次登记日期", "成立日期", "登簿时间"}
NAME_NOISE = [("homophone", 0.03, HOMOPHONES), ("look_alike", 0.015, LOOK_ALIKE), ("dialect_nl", 0.01, DIALECT_NL),
              ("dialect_fh", 0.01, DIALECT_FH), ("nasal", 0.015, NASAL)]
NEW_NOISE = ("homophone", "look_alike", "dialect_nl", "dialect_fh", "nasal", "masked_area", "masked_year",
             "id_typo1", "id_typo2", "id_swap", "legacy15", "excel_number", "id_format", "missing_id", "date_swap",
             "address_abbrev", "address_reorder", "moved_town")
MOVED_TOWN = 0.02  # rows whose address is a village of another town than the roster's (the person moved)


def _table(groups: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for g in groups:
        for ch in g:
            out.setdefault(ch, []).extend(o for o in g if o != ch and o not in out.get(ch, []))
    return out


TABLES = {kind: _table(groups) for kind, _, groups in NAME_NOISE}


def noisy_name(rng: random.Random, name: str, noise: list[str]) -> str:
    """At most one confusion per name, on a character the table knows (the surname included)."""
    r = rng.random()
    acc = 0.0
    for kind, rate, _ in NAME_NOISE:
        acc += rate
        if r < acc:
            table = TABLES[kind]
            positions = [i for i, ch in enumerate(name) if ch in table]
            if not positions:
                return name
            i = rng.choice(positions)
            noise.append(kind)
            return name[:i] + rng.choice(table[name[i]]) + name[i + 1:]
    return name


def noisy_id(rng: random.Random, p: Person, source: str, noise: list[str]) -> str:
    number = p.id18
    if source in MASKED_SOURCES and rng.random() < MASKED_SHARE:
        if rng.random() < 0.5:
            noise.append("masked_area")
            return number[:6] + "*" * 8 + number[14:]
        noise.append("masked_year")
        return number[:10] + "*" * 4 + number[14:]
    r = rng.random()
    digits = list(number)
    if r < 0.01:
        i = rng.randrange(17)
        digits[i] = rng.choice([d for d in "0123456789" if d != digits[i]])
        noise.append("id_typo1")
        return "".join(digits)
    if r < 0.02:
        for i in rng.sample(range(17), 2):
            digits[i] = rng.choice([d for d in "0123456789" if d != digits[i]])
        noise.append("id_typo2")
        return "".join(digits)
    if r < 0.025:
        i = rng.choice([i for i in range(16) if digits[i] != digits[i + 1]])
        digits[i], digits[i + 1] = digits[i + 1], digits[i]
        noise.append("id_swap")
        return "".join(digits)
    if r < 0.055 and 1900 <= p.birth.year < 2000 and source != "disability":
        noise.append("legacy15")
        return number[:6] + number[8:17]
    if r < 0.095:
        noise.append("id_format")
        return rng.choice([number[:6] + " " + number[6:14] + " " + number[14:], "'" + number,
                           number.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
                           number[:-1] + "x" if number.endswith("X") else number[:6] + " " + number[6:]])
    return number


def noisy_address(rng: random.Random, p: Person, noise: list[str], villages: list | None = None) -> str:
    """The address a department writes; `villages` ((code, town, village) of the county): where a person who moved
    may now live."""
    r = rng.random()
    if r < 0.08:
        noise.append("address_abbrev")
        town = p.town.removesuffix("镇").removesuffix("乡") if len(p.town) > 2 else p.town
        return rng.choice([f"{p.town}{p.village}", f"{town}{p.village}", p.village, f"宜都{town}{p.village}"])
    if r < 0.12:
        noise.append("address_reorder")
        return rng.choice([f"{p.village},{p.town}", f"宜都市{p.village}({p.town})", f"{p.village}{p.town}湖北省宜都市"])
    if villages and r < 0.12 + MOVED_TOWN:
        elsewhere = [v for v in villages if v[1] != p.town]
        if elsewhere:
            noise.append("moved_town")
            _code, town, village = rng.choice(elsewhere)
            return f"湖北省宜都市{town}{village}"
    return p.address


def date_text(rng: random.Random, d: dt.date, mixed: bool) -> object:
    """A date as one department system or another writes it (a date object becomes an Excel date cell)."""
    if not mixed:
        return d.isoformat()
    return rng.choice([d.isoformat(), f"{d.year}年{d.month}月{d.day}日", f"{d:%Y%m%d}", f"{d.year}.{d.month}.{d.day}",
                       f"{d.year}/{d.month}/{d.day}", d])


def make_county_new(outdir: str | Path, *, scale: float = 1.0, seed: int = 1, divisions_csv: str | Path | None = None,
                    quirks: tuple[str, ...] | None = None) -> dict:
    """Write the roster, the 14 extracts and truth.json (every link labelled with its noise) into outdir."""
    quirks = tuple(FILE_QUIRKS if quirks is None else quirks)
    unknown = set(quirks) - set(FILE_QUIRKS)
    if unknown:
        raise ValueError(f"unknown quirks {sorted(unknown)}")
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    county = County(scale=scale, seed=seed, divisions_csv=Path(divisions_csv or DIVISIONS_CSV))
    county.build_roster()
    from fupin.exchange.testdata import COUNTY_RECORDS

    n_records = max(140, round(COUNTY_RECORDS * scale))
    county.build_outsiders(max(50, n_records // 3))
    roster_name = "roster.xlsx" if len(county.roster) < 1_000_000 else "roster.csv"
    _write_roster(out / roster_name, county.roster)
    files, truth_links, findings, decoys, counts = write_extracts(out, county, n_records=n_records, quirks=quirks)
    return write_truth(out, county, roster_name=roster_name, files=files, truth_links=truth_links,
                       findings=findings, decoys=decoys, noise=counts, scale=scale, seed=seed, style="new",
                       quirks=list(quirks))


def write_extracts(out: Path, county, *, n_records: int, quirks: tuple[str, ...] = (), shares: dict | None = None
                   ) -> tuple[dict, list, set, list, dict]:
    """The 14 extracts about `county`'s people (anything with rng, people, outsiders, target_households, villages
    and new_id(birth, sex), like testdata.County or the demo county): files, truth links, findings, decoys, noise
    counts."""
    rng = county.rng
    targets = [p for p in county.people if any(h in county.target_households for h in p.households)]
    truth_links: list[dict] = []
    findings: set[tuple] = set()
    decoys: list[dict] = []
    counts: dict[str, int] = {}
    files: dict[str, str] = {}
    for source, share in (shares or SHARES).items():
        n = max(10, round(n_records * share))
        rows: list[dict] = []
        rule = HIT_RULES.get(source)
        birth_col = HEADERS[source][2] is not None

        def add(p: Person, kind: str, *, in_registry: bool, rows=rows, source=source, rule=rule,
                birth_col=birth_col):
            seq = len(rows) + 1
            noise: list[str] = []
            name = noisy_name(rng, p.name, noise)
            id_value = p.id18 if kind == "twin" else noisy_id(rng, p, source, noise)
            birth = p.birth
            if birth_col and birth.day <= 12 and birth.day != birth.month and rng.random() < 0.03:
                birth = dt.date(birth.year, birth.day, birth.month)
                noise.append("date_swap")
            address = noisy_address(rng, p, noise, county.villages)
            if source == "disability" and id_value:
                id_value = id_value + rng.choice("1234567") + rng.choice("1234")
            if kind != "twin" and rng.random() < 0.05:
                id_value = ""
                noise = [k for k in noise if not k.startswith(("masked", "id_", "legacy"))] + ["missing_id"]
            row = {"序号": seq, "姓名": name, "证件": id_value, "出生日期": birth if birth_col else None,
                   "性别": "男" if p.sex == "1" else "女", "地址": address, "_text_id": kind == "twin",
                   "_noise": noise}
            row.update(_fields_for(source, rng, p, "hit" if kind == "twin" else kind))
            if source == "property":
                row.pop("坐落", None)
            rows.append(row)
            for k in noise:
                counts[k] = counts.get(k, 0) + 1
            truth_links.append({"source": source, "seq": seq, "person": p.id18 if in_registry else None,
                                "noise": noise})
            note_truth(county, p, kind, seq, source=source, rule=rule, in_registry=in_registry, findings=findings,
                       decoys=decoys)

        fill_extract(county, targets, add, rows, n=n, source=source, rule=rule, decoys=decoys)
        files[source] = _write(out, source, rows, rng, quirks, counts)
    return files, truth_links, findings, decoys, counts


FOOTERS = [["合计", "{n}条"], ["制表人:张三", "审核人:李四"], ["数据截至2016年9月30日"]]


def _columns(source: str, rng: random.Random) -> list[tuple[str, str]]:
    names, ids, births, addresses = HEADERS[source]
    cols = [("序号", "序号"), ("姓名", rng.choice(names)), ("证件", rng.choice(ids))]
    if births:
        cols.append(("出生日期", rng.choice(births)))
    cols.append(("性别", "性别"))
    others = OTHER_COLUMNS[source]
    cols += [(k, k) for k in others]
    if addresses:
        cols.append(("地址", rng.choice(addresses)))
    return cols


def _cell(rng: random.Random, key: str, value: object, mixed_dates: bool) -> object:
    if isinstance(value, dt.date):
        return date_text(rng, value, mixed_dates)
    if key in DATE_COLUMNS and isinstance(value, str) and len(value) == 10:
        try:
            return date_text(rng, dt.date.fromisoformat(value), mixed_dates)
        except ValueError:
            return value
    return value


def _write(out: Path, source: str, rows: list[dict], rng: random.Random, quirks: tuple[str, ...], counts: dict
           ) -> str:
    cols = _columns(source, rng)
    mixed = "dates" in quirks
    footer = [[t.format(n=len(rows)) for t in f] for f in FOOTERS] if "footers" in quirks else []
    if FORMATS[source] == "xlsx":
        import xlsxwriter

        path = out / f"{source}.xlsx"
        wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False})
        date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
        size = SHEET_ROWS if "sheets" in quirks else len(rows) + 1
        pages = [rows[i:i + size] for i in range(0, len(rows), size)] or [[]]
        for k, page in enumerate(pages, start=1):
            ws = wb.add_worksheet(f"第{k}页" if len(pages) > 1 else "Sheet1")
            ws.merge_range(0, 0, 0, len(cols) - 1, f"宜都市{source}数据(2016年)")
            ws.write_row(1, 0, [h for _, h in cols])
            i = 1
            for i, row in enumerate(page, start=2):
                for j, (key, _) in enumerate(cols):
                    v = row.get(key)
                    if v is None or v == "":
                        continue
                    if key == "证件" and source == "vehicle" and isinstance(v, str) and v.isdigit() and len(v) == 18 \
                            and not row.get("_text_id") and rng.random() < 0.15:
                        ws.write_number(i, j, float(v[:15] + "000"))
                        counts["excel_number"] = counts.get("excel_number", 0) + 1
                        row["_noise"].append("excel_number")
                        continue
                    v = _cell(rng, key, v, mixed)
                    if isinstance(v, dt.date):
                        ws.write_datetime(i, j, dt.datetime(v.year, v.month, v.day), date_fmt)  # noqa: DTZ001 - a calendar cell
                    elif isinstance(v, (int, float)) and key != "证件":
                        ws.write_number(i, j, v)
                    else:
                        ws.write_string(i, j, str(v))
            if k == len(pages):
                for f, line in enumerate(footer, start=i + 2):
                    ws.write_row(f, 0, line)
        wb.close()
        return path.name
    path = out / f"{source}.csv"
    encoding = "gb18030" if FORMATS[source] == "csv-gbk" else "utf-8-sig"
    with path.open("w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh)
        w.writerow([h for _, h in cols])
        for row in rows:
            cells = []
            for k, _ in cols:
                v = row.get(k)
                v = _cell(rng, k, v, mixed)
                if isinstance(v, dt.date):
                    v = v.isoformat()
                cells.append("" if v is None else v)
            w.writerow(cells)
        if footer:
            w.writerow([])
            for line in footer:
                w.writerow(line)
    return path.name


