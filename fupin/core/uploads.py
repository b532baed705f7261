"""The one guarded way in for uploaded files: size, type by content, zip and sheet limits, text encoding.

Every importer (roster, department extract, forms, pairing, policies) takes an upload through `save_upload`, which
copies it to a new file with a random name (the uploaded name never becomes a path) after checking its size, and then
`check_table_file`, which refuses before any spreadsheet library reads it:

- a file whose content is not what its name says (a renamed or truncated xlsx, a binary file named .csv);
- an xlsx whose members unpack beyond `FUPIN_UPLOAD_MAX_UNCOMPRESSED` bytes or at a ratio above
  `FUPIN_UPLOAD_MAX_RATIO` (a zip bomb);
- a sheet with more than `FUPIN_UPLOAD_MAX_ROWS` rows or `FUPIN_UPLOAD_MAX_COLUMNS` columns, counting its cells and
  its merged ranges (a one-cell file declaring `A2:ZZZZZZZ3` would otherwise make the reader fill billions of cells);
- a CSV in mixed encodings (some lines UTF-8, some GBK) or that no encoding reads.

Refusals are `ImportRefused` with a Chinese message; nothing is written and the saved copy is removed. The sheet XML is
read as a stream in chunks, so checking a hostile file takes bounded memory whatever it declares.
"""

from __future__ import annotations

import os
import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.utils.translation import gettext as _

from fupin.core.errors import ImportRefused, RowProblem
from fupin.core.i18n import join_list

TABLE_SUFFIXES = (".xlsx", ".xlsm", ".csv", ".txt", ".tsv")
XLSX_SUFFIXES = (".xlsx", ".xlsm")
_CHUNK = 1 << 20
# the row number of a row (r="12") or a cell (r="AB12"), and a cell's column letters: the only elements of a sheet with
# an r attribute, with or without a namespace prefix and wherever the attribute stands in the tag. A literal start
# lets the regex engine skip to each candidate (a pattern starting with "<" is tried at all 38 per row's tags).
_REF_ROW = re.compile(rb' r="[A-Z]{0,7}(\d{1,12})"')
_REF_COL = re.compile(rb' r="([A-Z]{1,7})')
_CJK = re.compile("[\u4e00-\u9fff]")
_MERGE_REF = re.compile(rb'<(?:\w+:)?mergeCell ref="([A-Z]{1,7})(\d{1,12})(?::([A-Z]{1,7})(\d{1,12}))?"')


@dataclass(frozen=True)
class UploadLimits:
    max_bytes: int
    max_uncompressed: int
    max_ratio: int
    max_rows: int
    max_columns: int
    max_merged_ranges: int

    @classmethod
    def local_files(cls) -> UploadLimits:
        """For files the server already holds (a command run by an administrator, or an upload already checked
        with the upload limits): no size or row limit of its own beyond what memory allows; bombs, runaway merged
        ranges and columns are refused all the same."""
        up = cls.current()
        return cls(max_bytes=max(up.max_bytes, 8 * 1024**3), max_uncompressed=max(up.max_uncompressed, 4 * 1024**3),
                   max_ratio=up.max_ratio, max_rows=max(up.max_rows, 3_000_000), max_columns=up.max_columns,
                   max_merged_ranges=up.max_merged_ranges)

    @classmethod
    def current(cls) -> UploadLimits:
        return cls(
            max_bytes=getattr(settings, "FUPIN_UPLOAD_MAX_BYTES", 50 * 1024 * 1024),
            max_uncompressed=getattr(settings, "FUPIN_UPLOAD_MAX_UNCOMPRESSED", 400 * 1024 * 1024),
            max_ratio=getattr(settings, "FUPIN_UPLOAD_MAX_RATIO", 100),
            max_rows=getattr(settings, "FUPIN_UPLOAD_MAX_ROWS", 300_000),
            max_columns=getattr(settings, "FUPIN_UPLOAD_MAX_COLUMNS", 500),
            max_merged_ranges=getattr(settings, "FUPIN_UPLOAD_MAX_MERGED_RANGES", 20_000),
        )


def _refuse(name: str, message: str, row: int = 0) -> ImportRefused:
    return ImportRefused(headline="文件无法读取,未导入", problems=[RowProblem(row, "", name, message)])


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.0f}MB"


def safe_suffix(name: str, allowed: tuple[str, ...] = TABLE_SUFFIXES) -> str:
    """The uploaded name's suffix if it is one we read, else ImportRefused; the name itself is never used."""
    suffix = Path(str(name or "")).suffix.lower()
    if suffix not in allowed:
        shown = join_list(s for s in allowed if s in (".xlsx", ".csv")) or join_list(allowed)
        raise _refuse(str(name)[:100], _("Unsupported file type “%(suffix)s” (please upload a %(shown)s file)")
                      % {"suffix": suffix or _("no extension"), "shown": shown})
    return suffix


def check_upload_size(upload, limits: UploadLimits | None = None) -> None:
    """Refuse an upload larger than the configured limit (for attachments stored as they are)."""
    limits = limits or UploadLimits.current()
    size = getattr(upload, "size", None)
    if size is not None and size > limits.max_bytes:
        raise _refuse(str(getattr(upload, "name", ""))[:100],
                      _("The file is too large (%(size)s); the limit is %(limit)s")
                      % {"size": _mb(size), "limit": _mb(limits.max_bytes)})


def save_upload(upload, *, allowed: tuple[str, ...] = TABLE_SUFFIXES, folder: str | Path | None = None,
                check: bool = True) -> Path:
    """Copy an uploaded file to a new randomly named file (in `folder`, default the temporary directory), refusing it
    whole if it is too large or unreadable. The caller removes the file when done (`discard`)."""
    limits = UploadLimits.current()
    name = str(getattr(upload, "name", "") or "")[:100]
    suffix = safe_suffix(name, allowed)
    check_upload_size(upload, limits)
    if folder is not None:
        Path(folder).mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="fupin-upload-", suffix=suffix, dir=str(folder) if folder else None)
    path = Path(tmp)
    try:
        written = 0
        with os.fdopen(fd, "wb") as out:
            for chunk in upload.chunks():
                written += len(chunk)
                if written > limits.max_bytes:  # a client may lie about the size
                    raise _refuse(name, _("The file is too large; the limit is %(limit)s") % {"limit": _mb(limits.max_bytes)})
                out.write(chunk)
        if check:
            check_table_file(path, display_name=name, limits=limits)
    except BaseException:
        discard(path)
        raise
    return path


def discard(path: str | Path | None) -> None:
    if path:
        Path(path).unlink(missing_ok=True)


def column_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - 64)
    return n


def check_table_file(path: str | Path, *, display_name: str | None = None,
                     limits: UploadLimits | None = None) -> None:
    """Refuse a spreadsheet or CSV that cannot be read safely (see the module docstring); return quietly otherwise."""
    path = Path(path)
    limits = limits or UploadLimits.current()
    name = display_name or path.name
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise _refuse(name, _("The file does not exist or cannot be opened")) from exc
    if size > limits.max_bytes:
        raise _refuse(name, _("The file is too large (%(size)s); the limit is %(limit)s")
                      % {"size": _mb(size), "limit": _mb(limits.max_bytes)})
    with path.open("rb") as fh:
        head = fh.read(8)
    suffix = path.suffix.lower()
    is_zip = head.startswith(b"PK\x03\x04")
    is_ole = head.startswith(b"\xd0\xcf\x11\xe0")
    if suffix in XLSX_SUFFIXES:
        if is_ole:
            raise _refuse(name, _("This is an old .xls file with its extension changed: save it as .xlsx in Excel and upload it again"))
        if not is_zip:
            raise _refuse(name, _("The file content is not in Excel (.xlsx) format: it may be another file with its extension changed, or an incomplete file"))
        _check_xlsx(path, name, limits)
    elif suffix in (".csv", ".txt", ".tsv", ""):
        if is_zip or is_ole:
            raise _refuse(name, _("The file content is in Excel format but the extension is .csv: change the extension back to .xlsx and upload it again"))
        _check_text(path, name, limits)
    elif suffix in (".xls", ".ods"):
        raise _refuse(name, _(".xls/.ods files are not supported: save the file as .xlsx in Excel and upload it again"))


def _check_xlsx(path: Path, name: str, limits: UploadLimits) -> None:
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            total = 0
            for info in infos:
                total += info.file_size
                if total > limits.max_uncompressed:
                    raise _refuse(name, _("The Excel file unpacks to more than %(limit)s: refused (it may be a zip bomb)")
                                        % {"limit": _mb(limits.max_uncompressed)})
                if info.file_size > _CHUNK and info.file_size > limits.max_ratio * max(info.compress_size, 1):
                    raise _refuse(name, _("The Excel file's compression ratio is abnormal (more than %(ratio)s times): refused (it may be a zip bomb)")
                                        % {"ratio": limits.max_ratio})
            names = {i.filename for i in infos}
            if "xl/workbook.xml" not in names:
                raise _refuse(name, _("The file is not a valid Excel workbook (the workbook content is missing): it may be damaged or incomplete"))
            for info in infos:
                if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", info.filename):
                    _check_sheet(z, info, name, limits)
    except ImportRefused:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, NotImplementedError) as exc:
        raise _refuse(name, _("The Excel file is damaged or incomplete (the upload may have been interrupted): save it again and upload it again")) from exc


def _check_sheet(z: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, limits: UploadLimits) -> None:
    """Stream one sheet's XML: the largest row and column any cell or merged range reaches, and the merge count."""
    sheet = info.filename.rsplit("/", 1)[-1].removesuffix(".xml")
    max_row = max_col = merges = 0
    tail = b""
    read = 0
    with z.open(info) as fh:
        while True:
            chunk = fh.read(_CHUNK)
            read += len(chunk)
            if read > limits.max_uncompressed:  # the header may understate what the stream holds
                raise _refuse(name, _("The Excel file unpacks to more than %(limit)s: refused (it may be a zip bomb)")
                                        % {"limit": _mb(limits.max_uncompressed)})
            if not chunk:
                break
            data = tail + chunk
            cut = data.rfind(b"<")  # a tag cut by the chunk boundary is read with the next chunk
            cut = cut if cut > 0 else len(data)
            block, tail = data[:cut], data[cut:]
            if len(tail) > 4096:
                tail = tail[-4096:]
            # found in C (findall, set): a sheet of 100,000 rows has 700,000 references; only the block's distinct
            # numbers and letters are converted
            max_row = max(max_row, *map(int, set(_REF_ROW.findall(block))), 0)
            for letters in set(_REF_COL.findall(block)):
                max_col = max(max_col, column_number(letters.decode()))
            # merged ranges: a C substring search first (most sheets have none, and never in the cells' XML)
            for m in _MERGE_REF.finditer(block) if b"mergeCell" in block else ():
                merges += 1
                c1, r1 = column_number(m.group(1).decode()), int(m.group(2))
                c2, r2 = (column_number(m.group(3).decode()), int(m.group(4))) if m.group(3) else (c1, r1)
                far_col, far_row = max(c1, c2), max(r1, r2)
                if far_col > limits.max_columns or far_row > limits.max_rows:
                    raise _refuse(name, _("Sheet %(sheet)s has a merged range that is too large (to row %(row)s, column %(column)s); the limit is "
                                          "%(max_rows)s rows, %(max_columns)s columns")
                                        % {"sheet": sheet, "row": far_row, "column": far_col, "max_rows": limits.max_rows,
                                           "max_columns": limits.max_columns})
                if merges > limits.max_merged_ranges:
                    raise _refuse(name, _("Sheet %(sheet)s has more than %(n)s merged ranges: refused")
                                        % {"sheet": sheet, "n": limits.max_merged_ranges})
            if max_row > limits.max_rows:
                raise _refuse(name, _("Sheet %(sheet)s has more than %(n)s rows: split it and import it in batches")
                              % {"sheet": sheet, "n": limits.max_rows})
            if max_col > limits.max_columns:
                raise _refuse(name, _("Sheet %(sheet)s has more than %(n)s columns: delete the extra columns and import it again")
                              % {"sheet": sheet, "n": limits.max_columns})


def _check_text(path: Path, name: str, limits: UploadLimits) -> None:
    data = path.read_bytes()
    if b"\x00" in data[:65536]:
        raise _refuse(name, _("The file content is not a text table (it contains binary data): please upload an .xlsx or .csv file"))
    lines = data.count(b"\n")
    if lines > limits.max_rows:
        raise _refuse(name, _("The file has more than %(n)s rows: split it and import it in batches") % {"n": limits.max_rows})
    decode_text(data, name=name)


def decode_text(data: bytes, *, name: str = "") -> str:
    """UTF-8 (with or without BOM), else GB18030 (a superset of GBK and GB2312); a file mixing both, or readable in
    neither, is refused with the first line that does not fit."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    utf8_line = 0
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.isascii():
            try:
                as_utf8 = line.decode("utf-8")
            except UnicodeDecodeError:
                continue
            if len(_CJK.findall(as_utf8)) >= 2:  # a GBK line is rarely valid UTF-8, almost never as Chinese text
                utf8_line = number
                break
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError as exc:
        row = data[:exc.start].count(b"\n") + 1
        raise _refuse(name, _("The file's text encoding cannot be recognised (neither UTF-8 nor GBK): in Excel or WPS save it as "
                              "“CSV UTF-8” or .xlsx and upload it again"), row=row) from exc
    if utf8_line:
        raise _refuse(name, _("The file mixes two text encodings (some lines UTF-8, some GBK): in Excel or WPS save it as "
                              "“CSV UTF-8” or .xlsx and upload it again"), row=utf8_line)
    return text


class SizeLimitUploadHandler(FileUploadHandler):
    """First in FILE_UPLOAD_HANDLERS: stops reading a request once an uploaded file passes the size limit, so an
    oversized upload is never stored whole, in memory or on disk. The view then finds no file and
    `request.upload_too_large` set, and says so."""

    def __init__(self, request=None):
        super().__init__(request)
        self.received = 0
        self.limit = UploadLimits.current().max_bytes

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            if self.request is not None:
                self.request.upload_too_large = True
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None


def too_large_message() -> str:
    return f"文件太大,上限为{_mb(UploadLimits.current().max_bytes)},文件未导入"
