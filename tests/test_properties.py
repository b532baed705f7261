"""Property tests (hypothesis, fixed seed, bounded) of the parsers hostile input reaches first: the ID-number parser,
the date parsers, the tabular reader and the expression language. Two properties each: no exception other than the
parser's own refusal, and no wrong success (what is accepted is what was meant)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import string

import pytest
from hypothesis import HealthCheck, example, given, seed, settings
from hypothesis import strategies as st

from fupin.core import idnumber, tabular
from fupin.core.errors import ImportRefused
from fupin.eligibility.expressions import ExpressionError, parse
from fupin.surveys import evaluator

FAST = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
ID_CHARS = string.digits + "Xx０１２３４５６７８９ -'\u3000.eE+"
anything = st.one_of(st.none(), st.text(max_size=40), st.text(alphabet=ID_CHARS, max_size=25), st.integers(),
                     st.floats(allow_nan=True, allow_infinity=True), st.booleans())


# ID numbers -----------------------------------------------------------------------------------------------------------

@seed(12)
@FAST
@given(anything)
@example("1e9999")
@example(float("inf"))
@example("9" * 400 + "e99")
def test_idnumber_never_raises_anything_but_its_own_error(raw):
    assert isinstance(idnumber.clean(raw), str)
    try:
        number = idnumber.normalise(raw)
    except idnumber.IdNumberError as exc:
        assert exc.message and not exc.message.isascii()
        return
    # a success is a valid 18-character number with the right check character
    assert len(number) == 18 and number[:17].isdigit() and idnumber.check_char(number[:17]) == number[17]


@st.composite
def valid_ids(draw):
    area = draw(st.sampled_from(["420581", "110105", "440305", "652801"]))
    birth = draw(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2020, 12, 31)))
    body = f"{area}{birth:%Y%m%d}{draw(st.integers(0, 999)):03d}"
    return body + idnumber.check_char(body)


@seed(13)
@FAST
@given(valid_ids(), st.integers(0, 16), st.integers(1, 9))
def test_a_valid_id_is_accepted_and_one_wrong_digit_is_not(number, position, delta):
    assert idnumber.normalise(number) == number
    assert idnumber.normalise(number.lower().replace("", " ").strip()) == number  # spaces and a lower-case x
    wrong = number[:position] + str((int(number[position]) + delta) % 10) + number[position + 1:]
    with pytest.raises(idnumber.IdNumberError):
        idnumber.normalise(wrong)


# Dates ----------------------------------------------------------------------------------------------------------------

@seed(14)
@FAST
@given(st.one_of(anything, st.text(alphabet=string.digits + "-/.年月日 ", max_size=14)))
def test_date_parsers_answer_a_date_none_or_their_refusal(raw):
    from fupin.assistance.imports import parse_date as assistance_date
    from fupin.exchange.reading import parse_date as exchange_date

    assert exchange_date(raw) is None or isinstance(exchange_date(raw), dt.date)
    try:
        got = assistance_date(raw)
    except ValueError:
        return
    assert got is None or isinstance(got, dt.date)


@seed(15)
@FAST
@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2099, 12, 31)),
       st.sampled_from(["{:%Y-%m-%d}", "{0.year}/{0.month}/{0.day}", "{0.year}年{0.month}月{0.day}日",
                        "{:%Y%m%d}", "{0.year}.{0.month}.{0.day}"]))
def test_date_parsers_read_what_counties_type(day, pattern):
    from fupin.assistance.imports import parse_date as assistance_date
    from fupin.exchange.reading import parse_date as exchange_date

    text = pattern.format(day)
    assert exchange_date(text) == day
    assert assistance_date(text) == day


# Tabular reader -------------------------------------------------------------------------------------------------------

SPEC = tabular.TableSpec(columns={"name": ["姓名"], "id": ["证件号码"], "note": ["备注"]}, required=["name", "id"])
cell_text = st.text(alphabet=st.characters(blacklist_categories=["Cs", "Cc"], blacklist_characters="\ufeff"),
                    max_size=12).map(str.strip)


@seed(16)
@FAST
@given(st.lists(st.tuples(cell_text, cell_text, cell_text), min_size=1, max_size=15),
       st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]))
def test_csv_rows_read_back_as_written(tmp_path_factory, rows, encoding):
    rows = [r for r in rows if any(r)]
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["姓名", "证件号码", "备注"])
    w.writerows(rows)
    path = tmp_path_factory.mktemp("csv") / "t.csv"
    path.write_bytes(buf.getvalue().encode(encoding))
    report = tabular.ReadReport()
    try:
        _headers, it = tabular.read_table(path, SPEC, report=report)
        got = [(r["name"], r["id"], r["note"]) for _, r in it]
    except ImportRefused:
        # refusing is allowed only where the text cannot be told apart from another encoding's bytes
        assert encoding == "gb18030"
        return
    # every row is read back as written, or listed in the report as skipped (a footer or note row): never lost
    assert len(got) + len(report.skipped) == len(rows)
    read_back = [tuple(tabular.cell_text(v) for v in r) for r in got]
    assert all(row in [tuple(v.strip() for v in r) for r in rows] for row in read_back)


@seed(17)
@FAST
@given(st.binary(max_size=3000), st.sampled_from([".csv", ".xlsx", ".txt"]))
@example(b"PK\x03\x04" + b"\x00" * 100, ".xlsx")
@example("姓名,证件号码\n张三,1\n".encode("gbk") + "李四光明,2\n".encode(), ".csv")
def test_any_bytes_are_read_or_refused(tmp_path_factory, data, suffix):
    path = tmp_path_factory.mktemp("bytes") / f"t{suffix}"
    path.write_bytes(data)
    try:
        _headers, it = tabular.read_table(path, SPEC)
        for _row, values in it:
            assert set(values) == {"name", "id", "note"}
    except ImportRefused as exc:
        assert exc.problems and not exc.message.isascii()


# Expressions ----------------------------------------------------------------------------------------------------------

TOKENS = ["a", "b", "1", "2.5", "99999999999999", "-", "+", "*", "/", "%", "(", ")", "==", "<", "and", "or", "not",
          "in", "[", "]", ",", '"x"', "is", "null", "contains", "if", "true", "`学段`", "__x", ".", "=", "12"]


@seed(18)
@FAST
@given(st.one_of(st.text(max_size=80), st.lists(st.sampled_from(TOKENS), max_size=60).map(" ".join)))
@example("-" * 2000 + "1")
@example("+".join(["1"] * 900))
@example("(" * 300 + "1" + ")" * 300)
def test_expressions_parse_or_refuse(text):
    try:
        parse(text)
        evaluator.compile_expr(text)
    except ExpressionError as exc:
        assert exc.message and not exc.message.isascii()


@st.composite
def arithmetic(draw, depth=0):
    if depth > 3 or draw(st.booleans()):
        return str(draw(st.integers(0, 10_000)))
    op = draw(st.sampled_from(["+", "-", "*"]))
    left, right = draw(arithmetic(depth + 1)), draw(arithmetic(depth + 1))
    return f"({left} {op} {right})" if draw(st.booleans()) else f"{left} {op} {right}"


@seed(19)
@FAST
@given(arithmetic(), st.integers(-5, 5))
def test_arithmetic_means_what_it_says(text, shift):
    expected = eval(text, {"__builtins__": {}})  # digits, + - * and parentheses only: Python agrees with the language
    try:
        got = evaluator.evaluate(f"{text} + {shift}", {})
    except ExpressionError:  # too many products: refused, never a wrong number
        assert text.count("*") > 7
        return
    # the language computes in double precision, like the databases: exact below 2**53, within rounding above
    assert got == pytest.approx(expected + shift, rel=1e-12, abs=0)
