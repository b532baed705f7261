import pytest

from fupin.exchange.tests.conftest import ident, people, write_csv  # noqa: F401 - fixtures and helpers


@pytest.fixture
def departments(people, tmp_path):  # noqa: F811 - the imported fixture
    """Department files with one hit per rule and the decoys that must never be flagged."""
    from fupin.exchange.services import import_department
    from fupin.registry.models import Person

    ids = people["ids"]
    z, w, li, wang, twin = ids["zhang"], ids["zhang_wife"], ids["li"], ids["wang"], ids["zhang_twin"]
    # 张伟 is also listed in 李娜's household (the importer keeps such rows; the service refuses them)
    Person.objects.create(household=people["h3"], area_code=people["h3"].area_code, name="张伟", relationship="其他",
                          id_number=z, id_valid=True)
    files = {
        "vehicle": (["序号", "车主", "身份证明号码", "车辆类型", "机动车状态", "购置价格"], [
            [1, "张伟", z, "小型轿车", "正常", 8000],
            [2, "刘芳", w, "轻型普通货车", "正常", 90000], [3, "刘芳", w, "轮式拖拉机", "正常", 30000],
            [4, "刘芳", w, "三轮汽车", "正常", 9000], [5, "刘芳", w, "低速货车", "正常", 9000],
            [6, "刘芳", w, "普通二轮摩托车", "正常", 5000],
            [7, "李娜", li, "小型轿车", "注销", 80000], [8, "李娜", li, "小型普通客车", "报废", 80000],
            [9, "李娜", li, "小型普通客车", "转移", 80000],
            [10, "王明", wang, "小型轿车", "正常", 80000], [11, "张伟", twin, "中型普通客车", "正常", 150000]]),
        "business": (["序号", "经营者", "证件号码", "企业名称", "市场主体类型", "登记状态"], [
            [1, "张伟", z, "宜都市张伟商店", "个体工商户", "存续"],
            [2, "李娜", li, "宜都市李娜餐馆", "个体工商户", "注销"],
            [3, "李娜", li, "宜都市某建材有限公司", "有限责任公司", "吊销,未注销"],
            [4, "李娜", li, "宜都市柑橘专业合作社", "农民专业合作社", "存续"],
            [5, "刘芳", w, "甲一村茶叶专业合作社", "农民专业合作社", "在业"]]),
        "property": (["序号", "权利人", "证件号", "坐落", "房屋性质", "规划用途"], [
            [1, "李娜", li, "宜都市陆城", "商品房", "住宅"], [2, "刘芳", w, "甲镇", "自建房", "商业"],
            [3, "张伟", z, "甲一村", "宅基地", "住宅"], [4, "张伟", z, "甲一村", "自建房", "住宅"]]),
        "payroll": (["序号", "姓名", "身份证号码", "单位名称", "状态"], [[1, "刘芳", w, "甲镇卫生院", "在职"]]),
        "death": (["序号", "姓名", "公民身份号码", "出生日期", "死亡日期"], [
            [1, "李娜", li, "1975-05-05", "2016-03-01"],
            [2, "张伟", ident("19800101", 17), "1980-01-01", "2016-02-01"]]),  # a namesake, not our 张伟
    }
    paths = {}
    for source, (header, rows) in files.items():
        paths[source] = write_csv(tmp_path / f"{source}.csv", header, rows)
        import_department(actor="test", source_code=source, path=paths[source])
    return {"paths": paths, "files": files, "tmp": tmp_path}


EXPECTED = {
    ("P001", "vehicle", "zhang"), ("P003", "vehicle", "zhang"), ("P002", "vehicle", "zhang_twin"),
    ("P001", "business", "zhang"), ("P003", "business", "zhang"),
    ("P003", "property", "li"), ("P001", "property", "zhang_wife"),
    ("P001", "payroll", "zhang_wife"), ("P003", "deceased", "li"),
    ("P001", "duplicate_member", "zhang"), ("P003", "duplicate_member", "zhang"),
}
