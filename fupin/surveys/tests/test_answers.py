"""Conditions and validations of answers against a definition (no database)."""

from fupin.surveys import definitions as defs

DEFN = {"sections": [{"key": "s", "title": "测试", "items": [
    {"key": "income", "label": "收入", "type": "number", "min": 0, "required": True},
    {"key": "costs", "label": "支出", "type": "number", "visible_if": "income > 0",
     "validations": [{"rule": "costs <= income", "message": "支出不能大于收入"}]},
    {"key": "status", "label": "状态", "type": "choice", "options": [["0", "未脱贫"], ["1", "已脱贫"]]},
    {"key": "year", "label": "脱贫年度", "type": "number", "decimals": 0, "required_if": "status == '1'"},
    {"key": "kinds", "label": "产业", "type": "multi", "options": [["a", "种植"], ["b", "养殖"]]},
    {"key": "ok", "label": "饮水安全", "type": "boolean"},
    {"key": "day", "label": "日期", "type": "date"},
    {"key": "where", "label": "位置", "type": "gps"},
    {"key": "people", "label": "成员", "type": "table", "columns": [
        {"key": "name", "label": "姓名", "type": "text", "required": True},
        {"key": "age", "label": "年龄", "type": "number", "max": 120},
        {"key": "school", "label": "在校", "type": "boolean", "visible_if": "age < 25"}]},
]}]}


def codes(key):
    return []


def run(raw):
    return defs.validate_answers(DEFN, raw, codes)


def test_a_clean_set_of_answers():
    values, errors = run({"income": "1,200", "costs": "200", "status": "已脱贫", "year": "2016", "kinds": "种植、b",
                          "ok": "是", "day": "2016-05-01", "where": "111.45,30.38",
                          "people": [{"name": "甲", "age": "12", "school": "1"}, {"name": "乙", "age": "60",
                                                                                  "school": "1"}]})
    assert errors == {}
    assert values["income"] == 1200 and values["status"] == "1" and values["kinds"] == ["a", "b"]
    assert values["ok"] is True and values["where"] == {"lng": 111.45, "lat": 30.38}
    assert values["people"][0]["school"] is True and "school" not in values["people"][1]  # hidden: not kept


def test_required_range_and_cross_item_rules():
    _values, errors = run({"income": "100", "costs": "300", "status": "1", "people": [{"age": "130"}]})
    assert errors == {"costs": "支出不能大于收入", "year": "必填", "people.1.name": "必填",
                      "people.1.age": "不能大于120"}
    _values, errors = run({"income": "-1"})
    assert errors == {"income": "不能小于0"}


def test_hidden_items_are_dropped_with_their_errors():
    values, errors = run({"income": "0", "costs": "abc"})
    assert "costs" not in values and errors == {}


def test_bad_types_are_reported_in_chinese():
    _values, errors = run({"income": "十", "status": "9", "year": "2016.5", "ok": "maybe", "day": "2016/13/01",
                           "where": "999,1"})
    assert errors["income"] == "应为数字" and "不在可选项中" in errors["status"]
    assert errors["year"] == "应为整数" and errors["ok"] == "应为「是」或「否」"
    assert "日期" in errors["day"] and "经纬度" in errors["where"]


def test_definition_checks():
    bad = {"sections": [{"title": "x", "items": [
        {"key": "1a", "label": "坏代码", "type": "text"},
        {"key": "c", "label": "选", "type": "choice"},
        {"key": "t", "label": "表", "type": "table", "columns": [{"key": "u", "label": "套", "type": "table",
                                                                  "columns": [{"key": "v", "label": "v",
                                                                               "type": "text"}]}]},
        {"key": "d", "label": "d", "type": "text", "visible_if": "nothing > 1"},
        {"key": "d", "label": "重复", "type": "weird"},
    ]}]}
    problems = " ".join(defs.check_definition(bad))
    for needle in ("不合格", "要指定代码表或选项", "表格里不能再套表格", "未知字段", "重复", "类型「weird」未知"):
        assert needle in problems


def test_a_stored_rule_that_cannot_be_computed_is_an_answer_problem_not_a_500():
    defn = {"sections": [{"key": "s", "title": "测试", "items": [
        {"key": "income", "label": "收入", "type": "number",
         "validations": [{"rule": "9" * 990 + " * income > 1", "message": "x"}]}]}]}
    _values, errors = defs.validate_answers(defn, {"income": "5"}, codes)
    assert "校验规则无法计算" in errors["income"]


def test_problems_speak_the_readers_language():
    """The problems are messages of the catalogue: English for an English reader (the county's own rule messages
    stay as the county wrote them), and FormInvalid's headline too."""
    from django.utils import translation

    from fupin.surveys.services import FormInvalid

    with translation.override("en"):
        _values, errors = run({"income": "十", "costs": "300", "status": "9", "people": [{"age": "130"}]})
        _values, more = run({"income": "100", "costs": "300", "status": "1"})
        headline = str(FormInvalid({"income": errors["income"]}))
    assert errors["income"] == "A number is expected" and errors["status"] == "“9” is not one of the options"
    assert errors["people.1.name"] == "Required" and errors["people.1.age"] == "Must not be more than 120"
    assert more == {"costs": "支出不能大于收入", "year": "Required"}
    assert headline == "Answers to correct before submitting (1): income A number is expected"
