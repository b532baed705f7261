"""The streaming xlsx writer makes files that Excel readers open (calamine, openpyxl), with awkward text intact."""

import io

import openpyxl
from python_calamine import CalamineWorkbook

from fupin.registry.xlsxstream import xlsx_chunks


def _build(rows, **kw):
    return b"".join(xlsx_chunks(iter(rows), header=["序号", "姓名", "证件号码"], **kw))


def test_readers_open_it_and_text_stays_text():
    rows = [[str(i), f"张{i}", "420581199001011234"] for i in range(5000)]
    rows.append(["5001", 'a<b>&"c"\x01', "0012"])
    data = _build(rows, title="花名册", sheet_name="花名册", widths={0: 6, 2: 21}, rows_per_chunk=100)
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python()
    assert sheet[0][0] == "花名册" and sheet[1] == ["序号", "姓名", "证件号码"]
    assert sheet[2] == ["0", "张0", "420581199001011234"] and len(sheet) == 2 + len(rows)
    assert sheet[-1] == ["5001", 'a<b>&"c"', "0012"]  # control character dropped, leading zeros kept
    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    ws = wb["花名册"]
    assert [c.value for c in next(ws.iter_rows(min_row=3, max_row=3))] == ["0", "张0", "420581199001011234"]


def test_it_streams_in_chunks_and_skips_empty_cells():
    chunks = list(xlsx_chunks(iter([["1", "", "x"]] * 10000), header=["a", "b", "c"], rows_per_chunk=1000))
    assert len(chunks) > 5
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(b"".join(chunks))).get_sheet_by_index(0).to_python()
    assert sheet[1] == ["1", "", "x"] and len(sheet) == 10001
