"""Hostile uploads: refused whole with a Chinese message before any spreadsheet library reads them, nothing written,
and the uploaded name never becomes a path."""

import tempfile
import time
import uuid
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from fupin.core import hostile_files as hostile
from fupin.core import tabular, uploads
from fupin.core.errors import ImportRefused
from fupin.core.models import Job
from fupin.core.testing import make_user

ROSTER = tabular.TableSpec(columns={"name": ["姓名"], "id": ["证件号码"]}, required=["name", "id"])


def _refused(path, expect: str, *, upload: bool = False):
    """Refused by the reader every importer calls (or, with upload=True, by the stricter upload check first)."""
    started = time.monotonic()
    with pytest.raises(ImportRefused) as info:
        if upload:
            uploads.check_table_file(path)
        tabular.read_table(path, ROSTER)[1].__next__()
    assert time.monotonic() - started < 5
    assert expect in info.value.message, info.value.message
    return info.value


def test_merged_range_bomb_is_refused_at_once(tmp_path):
    _refused(hostile.merged_range_bomb(tmp_path / "bomb.xlsx"), "合并单元格范围过大")


def test_zip_bomb_is_refused_by_ratio(tmp_path):
    _refused(hostile.zip_bomb(tmp_path / "zip.xlsx", unpacked_mb=64), "压缩比异常")


@override_settings(FUPIN_UPLOAD_MAX_UNCOMPRESSED=8 * 1024 * 1024, FUPIN_UPLOAD_MAX_RATIO=10_000)
def test_zip_bomb_is_refused_by_unpacked_size(tmp_path):
    _refused(hostile.zip_bomb(tmp_path / "zip.xlsx", unpacked_mb=16), "解压后超过", upload=True)


def test_a_far_away_cell_is_refused(tmp_path):
    _refused(hostile.far_cell(tmp_path / "far.xlsx"), "超过300000行", upload=True)
    _refused(hostile.far_cell(tmp_path / "far.xlsx"), "超过500列")  # a file given to a command


@override_settings(FUPIN_UPLOAD_MAX_ROWS=1000)
def test_too_many_csv_rows_are_refused(tmp_path):
    _refused(hostile.huge_csv(tmp_path / "huge.csv", rows=2000), "超过1000行", upload=True)


def test_mixed_encodings_are_refused_with_the_line(tmp_path):
    exc = _refused(hostile.mixed_encoding_csv(tmp_path / "mixed.csv"), "混用了两种文字编码")
    assert exc.problems[0].row == 3


def test_unknown_encoding_is_refused_not_a_codec_message(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("姓名,证件号码\n".encode() + b"\xff\xfe\xfd\x81\n")
    exc = _refused(path, "编码无法识别")
    assert "codec" not in exc.message


def test_renamed_and_truncated_files_are_refused(tmp_path):
    _refused(hostile.renamed(tmp_path / "pic.xlsx"), "不是Excel")
    good = hostile.xlsx(tmp_path / "good.xlsx", [["姓名", "证件号码"], ["张三", "420581199001011234"]])
    _refused(hostile.truncated(tmp_path / "cut.xlsx", good), "损坏或不完整")
    xls = tmp_path / "old.xlsx"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)
    _refused(xls, "旧版 .xls")
    binary = tmp_path / "zip.csv"
    binary.write_bytes(good.read_bytes())
    _refused(binary, "扩展名是 .csv")


def test_a_good_file_still_reads(tmp_path):
    good = hostile.xlsx(tmp_path / "good.xlsx", [["标题"], ["姓名", "证件号码"], ["张三", "420581199001011234"]],
                        merges=["A1:B1"])
    headers, rows = tabular.read_table(good, ROSTER)
    assert headers == ["姓名", "证件号码"]
    assert [r for _, r in rows] == [{"name": "张三", "id": "420581199001011234"}]


def test_gbk_csv_still_reads(tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes("姓名,证件号码\n张三丰,420581199001011234\n欧阳修文,420581199001015678\n".encode("gbk"))
    assert [r["name"] for _, r in tabular.read_table(path, ROSTER)[1]] == ["张三丰", "欧阳修文"]


def test_save_upload_uses_a_random_name_and_refuses_too_large(tmp_path):
    up = SimpleUploadedFile("../../etc/passwd.csv", "姓名,证件号码\n张三,1\n".encode())
    saved = uploads.save_upload(up, folder=tmp_path)
    assert saved.parent == tmp_path and "passwd" not in saved.name and saved.suffix == ".csv"
    with override_settings(FUPIN_UPLOAD_MAX_BYTES=10), pytest.raises(ImportRefused, match="文件太大"):
        uploads.save_upload(SimpleUploadedFile("a.csv", b"x" * 100), folder=tmp_path)
    with pytest.raises(ImportRefused, match="不支持的文件类型"):
        uploads.save_upload(SimpleUploadedFile("a.exe", b"MZ"), folder=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [saved.name]  # refusals leave nothing behind


# Pages ---------------------------------------------------------------------------------------------------------------


@pytest.fixture
def office(db, county):
    return make_user("up-office", "city_office", division=county["county"])


def test_pairing_upload_named_like_a_temp_file_does_not_delete_it(client, office):
    victim = Path(tempfile.gettempdir()) / f"fupin-victim-{uuid.uuid4().hex}.xlsx"
    victim.write_bytes(b"keep me")
    try:
        client.force_login(office)
        r = client.post("/assistance/pairing/", {"file": SimpleUploadedFile(victim.name, b"not a spreadsheet")})
        assert r.status_code == 200
        assert "不是Excel" in r.content.decode()
        assert victim.read_bytes() == b"keep me"
    finally:
        victim.unlink(missing_ok=True)


def test_policy_upload_named_like_a_directory_is_refused_not_500(client, office):
    folder = Path(tempfile.gettempdir()) / f"fupin-dir-{uuid.uuid4().hex}.xlsx"
    folder.mkdir()
    try:
        client.force_login(office)
        client.raise_request_exception = False
        r = client.post("/assistance/policies/", {"action": "import", "file": SimpleUploadedFile(folder.name, b"data")})
        assert r.status_code == 200
        assert "不是Excel" in r.content.decode()
        assert folder.is_dir()
    finally:
        folder.rmdir()


def test_exchange_upload_has_a_size_limit(client, office, settings):
    settings.FUPIN_UPLOAD_MAX_BYTES = 4096
    folder = Path(settings.DATA_DIR) / "uploads"
    before = set(folder.iterdir()) if folder.exists() else set()
    client.force_login(office)
    from fupin.exchange.models import Source
    from fupin.exchange.services import sources_ensure_defaults

    sources_ensure_defaults()
    r = client.post("/exchange/upload/", {"source": Source.objects.first().code,
                                          "file": SimpleUploadedFile("民政.csv", b"a,b\n" * 5000)}, follow=True)
    assert "文件太大" in r.content.decode()
    assert not Job.objects.exists()
    assert (set(folder.iterdir()) if folder.exists() else set()) == before


def test_roster_upload_of_a_bomb_is_refused_before_a_job(client, office, tmp_path):
    client.force_login(office)
    bomb = hostile.merged_range_bomb(tmp_path / "花名册.xlsx")
    r = client.post("/households/import/", {"file": SimpleUploadedFile("花名册.xlsx", bomb.read_bytes())},
                    follow=True)
    assert "合并单元格范围过大" in r.content.decode()
    assert not Job.objects.exists()


def test_form_import_of_a_renamed_file_is_refused(client, office):

    from fupin.surveys.services import forms_load_shipped

    form = forms_load_shipped(actor=office)[0]
    client.force_login(office)
    client.raise_request_exception = False
    r = client.post(f"/forms/{form.key}/import/", {"file": SimpleUploadedFile("回收.xlsx", b"\x89PNG....")})
    assert r.status_code == 200
    assert "不是Excel" in r.content.decode()
