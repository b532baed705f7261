import duckdb
import pytest

from fupin.eligibility.expressions import ExpressionError, compile_sql, fields_used, parse

NAMES = {"车辆类型": "text", "机动车状态": "text", "members": "number", "labour_count": "number", "学段/年级": "text",
         "birth": "text", "flag": "bool"}


def resolve(name):
    if name not in NAMES:
        raise KeyError(name)
    return f'"{name}"', NAMES[name]


def run(expr, row, *, as_bool=True):
    con = duckdb.connect()
    cols = ", ".join(f'{duckdb_literal(v)} AS "{k}"' for k, v in row.items())
    sql = compile_sql(expr, resolve, as_bool=as_bool)
    return con.execute(f"SELECT {sql} FROM (SELECT {cols})").fetchone()[0]


def duckdb_literal(v):
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, (int, float)):
        return repr(v)
    return "'" + str(v).replace("'", "''") + "'"


ROW = {"车辆类型": "小型轿车", "机动车状态": "正常", "members": 3, "labour_count": 0, "学段/年级": "七年级",
       "birth": "1950-01-02", "flag": True}


@pytest.mark.parametrize(("expr", "expected"), [
    ('(contains(车辆类型, "轿车") or contains(车辆类型, "客车")) and 机动车状态 == "正常"', True),
    ('contains_any(车辆类型, "货车", "拖拉机")', False),
    ('机动车状态 in ["注销", "报废"]', False),
    ('机动车状态 not in ["注销", "报废"]', True),
    ("members > 2 and labour_count == 0", True),
    ("not (members >= 4)", True),
    ("`学段/年级` == '七年级'", True),
    ("age(birth) > 60", True),
    ("is_blank(机动车状态)", False),
    ("机动车状态 is not null", True),
    ("flag and members % 2 == 1", True),
    ("「轿车」 == “轿车”", True),
])
def test_expressions_evaluate(expr, expected):
    assert run(expr, ROW) is expected


def test_numbers_and_nulls():
    assert run("if(labour_count == 0, 25, 0) + min(members * 10, 20)", ROW, as_bool=False) == 45
    assert run("members / 0", ROW, as_bool=False) == 0  # division by zero is null, null points are 0
    assert run('机动车状态 == "正常"', {**ROW, "机动车状态": None}) is False
    assert run("members > 1", {**ROW, "members": None}) is False
    assert fields_used(parse("contains(车辆类型, 'x') and members > 1")) == {"车辆类型", "members"}


@pytest.mark.parametrize(("expr", "message"), [
    ("__import__('os')", "__"),
    ("车辆类型.upper()", "属性"),
    ("os.system('ls')", "属性"),
    ("eval('1')", "不允许调用"),
    ("open('/etc/passwd')", "不允许调用"),
    ("lambda: 1", "无法识别"),
    ("members = 1", "赋值"),
    ("车辆类型[0]", "下标"),
    ("members > 1; drop table x", "无法识别"),
    ("contains(车辆类型)", "参数个数"),
    ("unknown_field > 1", "未知字段"),
    ("", "为空"),
    ("members >", "不完整"),
    ("(members > 1", "「)」"),
    ("'a' 'b'", "多余"),
])
def test_non_expressions_are_refused(expr, message):
    with pytest.raises(ExpressionError) as exc:
        compile_sql(expr, resolve)
    assert message in exc.value.message


def test_string_literals_cannot_break_out():
    sql = compile_sql("机动车状态 == \"x' OR 1=1 --\"", resolve)
    assert run("机动车状态 == \"x' OR 1=1 --\"", ROW) is False
    assert "''" in sql
