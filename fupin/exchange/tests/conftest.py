import csv

import pytest

from fupin.core import idnumber


def ident(birth: str, seq: int, area: str = "420581") -> str:
    body = f"{area}{birth}{seq:03d}"
    return body + idnumber.check_char(body)


def write_csv(path, header, rows, encoding="utf-8-sig"):
    with open(path, "w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture
def people(county):
    """Four registered poor households: 张伟 (va1, grid ga1) with a namesake 张伟 (vb1, same birth date), 李娜 (va2)."""
    from fupin.registry.services import household_create

    ids = {
        "zhang": ident("19800101", 11), "zhang_twin": ident("19800101", 13), "zhang_wife": ident("19820303", 22),
        "li": ident("19750505", 31), "wang": ident("19900909", 41),
    }
    h1 = household_create(actor="test", village=county["va1"], grid=county["ga1"], poor_code="P001",
                          is_registered_poor=True, poverty_status="0",
                          members=[{"name": "张伟", "relationship": "户主", "id_number": ids["zhang"]},
                                   {"name": "刘芳", "relationship": "配偶", "id_number": ids["zhang_wife"]}])
    h2 = household_create(actor="test", village=county["vb1"], grid=county["gb1"], poor_code="P002",
                          is_registered_poor=True, poverty_status="1",
                          members=[{"name": "张伟", "relationship": "户主", "id_number": ids["zhang_twin"]}])
    h3 = household_create(actor="test", village=county["va2"], poor_code="P003", is_registered_poor=True,
                          poverty_status="0",
                          members=[{"name": "李娜", "relationship": "户主", "id_number": ids["li"]}])
    h4 = household_create(actor="test", village=county["va2"], poor_code="P004", is_registered_poor=True,
                          poverty_status="4",
                          members=[{"name": "王明", "relationship": "户主", "id_number": ids["wang"]}])
    return {"ids": ids, "h1": h1, "h2": h2, "h3": h3, "h4": h4}
