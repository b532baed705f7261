"""Roster files in the national layout (建档立卡花名册), made up for tests and benchmarks.

`roster_rows(places, households=...)` gives one dict per member (keys are the Chinese headers, values as a county's
export would have them: labels, not codes); `write_csv` and `write_xlsx` write them the way real files come (a title
row above the header, merged household cells, GBK or UTF-8 with BOM). Every ID number is valid and unique unless the
caller damages it.

Example::

    rows = roster_rows([("甲镇", "甲一村", "420581100201")], households=10)
    write_xlsx("/tmp/roster.xlsx", rows, title="甲镇建档立卡贫困人口花名册", merge=True)
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from collections.abc import Sequence
from pathlib import Path

from fupin.core import idnumber
from fupin.registry import codes

HEADERS = ["序号", "乡镇", "行政村", "组", "户编号", "姓名", "与户主关系", "证件号码", "性别", "民族", "家庭人口数",
           "贫困户属性", "主要致贫原因", "其他致贫原因", "脱贫状态", "识别标准", "文化程度", "健康状况", "劳动技能",
           "务工状况", "务工时间", "人均纯收入", "联系电话"]
NATIONAL_HEADERS = ["序号", "乡镇", "行政村", "户编号", "姓名", "与户主关系", "证件号码", "性别", "民族", "家庭人口数",
                    "贫困户属性", "主要致贫原因", "脱贫状态"]
# columns that belong to the household (merged over its member rows in `merge` mode)
HOUSEHOLD_HEADERS = ("乡镇", "行政村", "组", "户编号", "家庭人口数", "贫困户属性", "主要致贫原因", "其他致贫原因",
                     "脱贫状态", "识别标准", "人均纯收入")

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
_GIVEN = "建国华明红英丽军平志强伟芳秀兰玉珍桂云春海林波燕霞敏静杰涛斌超亮刚勇辉鹏飞龙凤梅琴娟萍兵宇浩然思雨欣怡子涵"
_LABEL = {k: dict(items) for k, (_, items) in codes.CODE_LISTS.items()}


_SPACE = 29000 * 999  # birth days × sequence numbers
_SCRAMBLE = 7_368_787  # coprime with _SPACE: index → a scattered but unique (day, sequence), as real rosters are


def _id_for(index: int, area: str = "420581") -> str:
    """A valid ID number, unique per index (up to 29 million): the birth date and the sequence encode the index,
    scattered so that consecutive members do not get consecutive numbers."""
    day, seq = divmod((index * _SCRAMBLE) % _SPACE, 999)
    birth = dt.date(1935, 1, 1) + dt.timedelta(days=day % 29000)
    body = f"{area}{birth:%Y%m%d}{seq + 1:03d}"
    return body + idnumber.check_char(body)


def roster_rows(places: Sequence[tuple[str, str, str]], *, households: int, seed: int = 1, start: int = 0,
                code_prefix: str = "") -> list[dict[str, str]]:
    """Members of `households` households spread over `places` ((town name, village name, village code), ...).

    户编号 is the village code + a 5-digit number (with `code_prefix` in front when given); members 1-6 per household.
    """
    rng = random.Random(seed)
    rows: list[dict[str, str]] = []
    person = start * 4
    counters: dict[str, int] = {}
    statuses = ["0", "0", "0", "1", "1", "2", "4", "3"]
    for h in range(households):
        town, village, vcode = places[h % len(places)]
        counters[vcode] = counters.get(vcode, start // max(1, len(places))) + 1
        poor_code = f"{code_prefix}{vcode}{counters[vcode]:05d}"
        size = rng.choice((1, 2, 2, 3, 3, 3, 4, 4, 4, 5, 6))
        surname = rng.choice(_SURNAMES)
        attribute = rng.choice(("1", "1", "1", "2", "3"))
        cause = rng.choice([c for c, _ in codes.CAUSE[:11]])
        other = rng.choice(("", "", "8", "9", "7"))
        status = rng.choice(statuses)
        income = f"{rng.randint(1800, 9000)}.00"
        group = f"{rng.randint(1, 12)}组"
        rels = ["户主", "配偶", "之子", "之女", "之母", "之孙子"]
        for m in range(size):
            person += 1
            number = _id_for(person)
            rows.append({
                "序号": str(len(rows) + 1), "乡镇": town, "行政村": village, "组": group, "户编号": poor_code,
                "姓名": surname + "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2)))),
                "与户主关系": rels[m], "证件号码": number, "性别": "男" if int(number[16]) % 2 else "女",
                "民族": rng.choice(("汉族", "汉族", "汉族", "土家族")), "家庭人口数": str(size),
                "贫困户属性": _LABEL["attribute"][attribute], "主要致贫原因": _LABEL["cause"][cause],
                "其他致贫原因": _LABEL["cause"].get(other, ""), "脱贫状态": _LABEL["status"][status],
                "识别标准": "国家标准", "文化程度": rng.choice(("小学", "初中", "初中", "高中", "文盲或半文盲")),
                "健康状况": rng.choice(("健康", "健康", "健康", "长期慢性病", "患有大病", "残疾")),
                "劳动技能": rng.choice(("普通劳动力", "普通劳动力", "弱劳动力或半劳动力", "无劳动力", "技能劳动力")),
                "务工状况": rng.choice(("", "", "乡(镇)内务工", "县外省内务工")), "务工时间": str(rng.randint(0, 12)),
                "人均纯收入": income, "联系电话": f"13{rng.randint(100000000, 999999999)}" if m == 0 else "",
            })
    return rows


def write_csv(path: str | Path, rows: list[dict], *, headers: Sequence[str] = HEADERS, encoding: str = "utf-8-sig",
              title: str | None = None) -> Path:
    """A CSV as counties send them: UTF-8 with BOM by default, or encoding="gbk"; an optional title line."""
    path = Path(path)
    with open(path, "w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh)
        if title:
            w.writerow([title] + [""] * (len(headers) - 1))
        w.writerow(headers)
        for r in rows:
            w.writerow([r.get(h, "") for h in headers])
    return path


def write_xlsx(path: str | Path, rows: list[dict], *, headers: Sequence[str] = HEADERS, title: str | None = None,
               merge: bool = False) -> Path:
    """An xlsx: optional merged title row above the header; with merge=True the household cells are merged over each
    household's member rows, as in rosters printed from the national system."""
    import xlsxwriter

    path = Path(path)
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": not merge, "strings_to_numbers": False})
    ws = wb.add_worksheet("花名册")
    r0 = 0
    if title:
        if merge:
            ws.merge_range(0, 0, 0, len(headers) - 1, title)
        else:
            ws.write_string(0, 0, title)
        r0 = 1
    for c, h in enumerate(headers):
        ws.write_string(r0, c, h)
    first = r0 + 1
    if not merge:
        for i, r in enumerate(rows):
            for c, h in enumerate(headers):
                v = r.get(h, "")
                if v != "":
                    ws.write_string(first + i, c, str(v))
    else:
        i = 0
        while i < len(rows):
            j = i
            while j + 1 < len(rows) and rows[j + 1]["户编号"] == rows[i]["户编号"]:
                j += 1
            for c, h in enumerate(headers):
                if h in HOUSEHOLD_HEADERS and j > i:
                    ws.merge_range(first + i, c, first + j, c, str(rows[i].get(h, "")))
                else:
                    for k in range(i, j + 1):
                        v = rows[k].get(h, "")
                        if v != "":
                            ws.write_string(first + k, c, str(v))
            i = j + 1
    wb.close()
    return path
