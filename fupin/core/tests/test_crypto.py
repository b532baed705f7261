"""Encryption at rest: ciphers, sealed fields, blind index, rotation over a populated database, sealed files."""

import base64
import hashlib
import hmac
import io
import json

import pytest
from django.core.exceptions import FieldError
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from fupin.core import crypto, filestore, rotation
from fupin.core.fields import blind_q
from fupin.core.testing import make_household


@pytest.fixture
def ring_reset():
    crypto.reset()
    yield
    crypto.reset()


def _ring(*ciphers, active=None, index=("i1",), index_active=None):
    spec = {"active": "", "keys": {}, "index_active": "", "index_keys": {}}
    for i, c in enumerate(ciphers, 1):
        crypto.add_key(spec, c, f"k{i}")
    spec["active"] = active or f"k{len(ciphers)}"
    for kid in index:
        spec["index_keys"][kid] = crypto._b64e(bytes(range(32)) if kid == "i1" else bytes(range(1, 33)))
    spec["index_active"] = index_active or index[-1]
    return spec


@pytest.mark.parametrize("cipher", ["aes-256-gcm", "sm4-gcm"])
def test_round_trip_each_cipher(cipher):
    ring = crypto.Keyring(crypto.generate_spec(cipher))
    for plain in ("13912345678", "", "王大山 420581 ☎", "x" * 5000):
        sealed = crypto.encrypt(plain, "registry.person.phone", ring)
        assert sealed.startswith("$e1$k1$") and (not plain or plain not in sealed[7:])
        assert crypto.decrypt(sealed, "registry.person.phone", ring) == plain
    # two seals of one value differ (a fresh nonce each time): equal values are not visible in the column
    assert crypto.encrypt("1", "p", ring) != crypto.encrypt("1", "p", ring)


def test_sm4_gcm_is_the_standard_cipher():
    """SM4 (GB/T 32907-2016) test vector: key = plaintext = 0123456789abcdeffedcba9876543210."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    k = bytes.fromhex("0123456789abcdeffedcba9876543210")
    enc = Cipher(algorithms.SM4(k), modes.ECB()).encryptor()
    assert (enc.update(k) + enc.finalize()).hex() == "681edf34d206965e86b3e94f536e4246"


@pytest.mark.parametrize("cipher", ["aes-256-gcm", "sm4-gcm"])
def test_tampered_values_are_refused_without_showing_them(cipher):
    ring = crypto.Keyring(crypto.generate_spec(cipher))
    sealed = crypto.encrypt("13912345678", "registry.person.phone", ring)
    body = sealed[7:]
    flipped = sealed[:7] + body[:10] + ("A" if body[10] != "A" else "B") + body[11:]
    attempts = [
        flipped,                                    # a changed byte
        sealed[:-4],                                # cut short
        sealed.replace("$k1$", "$k9$"),             # an unknown key
        "$e1$k1$AAAA",                              # too short to be anything
    ]
    for bad in attempts:
        with pytest.raises(crypto.CryptoError) as exc:
            crypto.decrypt(bad, "registry.person.phone", ring)
        assert "13912345678" not in str(exc.value)
    # the same ciphertext moved to another column does not open there
    with pytest.raises(crypto.CryptoError):
        crypto.decrypt(sealed, "registry.household.phone", ring)


@pytest.mark.parametrize("cipher", ["aes-256-gcm", "sm4-gcm"])
def test_decrypt_many_opens_what_decrypt_opens_and_refuses_what_it_refuses(cipher):
    ring = crypto.Keyring(crypto.generate_spec(cipher))
    plains = ["13912345678", "", "王大山 420581 ☎", "[]"]
    values = [crypto.encrypt(p, "registry.person.phone", ring) for p in plains] + ["", None, "never sealed"]
    assert crypto.decrypt_many(values, "registry.person.phone", ring) == [*plains, "", None, "never sealed"]
    assert crypto.decrypt_many(values, "registry.person.phone", ring) == [
        v if not v else crypto.decrypt(v, "registry.person.phone", ring) for v in values]
    sealed = values[0]
    body = sealed[7:]
    flipped = sealed[:7] + body[:10] + ("A" if body[10] != "A" else "B") + body[11:]
    for bad in (flipped, sealed[:-4], sealed.replace("$k1$", "$k9$"), "$e1$k1$AAAA", "$e1$k1"):
        with pytest.raises(crypto.CryptoError) as exc:
            crypto.decrypt_many([values[2], bad], "registry.person.phone", ring)
        assert "13912345678" not in str(exc.value)
    with pytest.raises(crypto.CryptoError):  # another column's additional data
        crypto.decrypt_many([sealed], "registry.household.phone", ring)


@pytest.mark.parametrize("cipher", ["aes-256-gcm", "sm4-gcm"])
def test_encrypt_many_seals_as_encrypt_does(cipher):
    """The column-at-a-time seal (the bulk writer's) gives what `encrypt` gives value by value: the same prefix, a
    fresh nonce per value (equal values do not look equal), openable by `decrypt` under that column only; empty and
    None values stay as they are."""
    ring = crypto.Keyring(crypto.generate_spec(cipher))
    plains = ["420581198001010011", "", None, "王大山 420581 ☎", "420581198001010011", "x" * 5000]
    sealed = crypto.encrypt_many(plains, "exchange.stagedrecord.id_number", ring)
    assert sealed[1:3] == ["", None]
    kept = [s for s in sealed if s]
    assert all(s.startswith("$e1$k1$") and "420581" not in s for s in kept)
    assert len(set(kept)) == len(kept)  # the two equal values sealed differently
    assert [crypto.decrypt(s, "exchange.stagedrecord.id_number", ring) if s else s for s in sealed] == plains
    assert crypto.decrypt_many(sealed, "exchange.stagedrecord.id_number", ring) == plains
    one = crypto.encrypt(plains[0], "exchange.stagedrecord.id_number", ring)  # the same shape as one value's
    assert len(one) == len(sealed[0]) and one[:7] == sealed[0][:7]
    with pytest.raises(crypto.CryptoError):
        crypto.decrypt(sealed[0], "exchange.stagedrecord.id_raw", ring)


def test_blind_index_many_is_blind_index_value_by_value():
    ring = crypto.Keyring(_ring("aes-256-gcm", index=("i1", "i2")))
    values = ["420581198001010011", "", None, "13912345678", "420581198001010011"]
    for kid in (None, "i1", "i2"):
        assert crypto.blind_index_many(values, "registry.person.id_number", kid, ring) == [
            crypto.blind_index(v, "registry.person.id_number", kid, ring) for v in values]
    many = crypto.blind_index_many(values, "registry.person.id_number", None, ring)
    assert many[0] == many[4] and many[0] != many[3] and many[1:3] == ["", ""] and many[0].startswith("i2$")


@pytest.mark.parametrize("key_len", [32, 63, 64, 65, 100])
def test_blind_index_is_hmac_sha256_of_purpose_and_value(key_len):
    """The index is HMAC-SHA256 as the standard library computes it (the precomputed states change nothing stored):
    for keys shorter than, as long as and longer than SHA-256's block, ASCII and other text."""
    key = bytes((7 * i + 3) % 256 for i in range(key_len))
    spec = {"active": "k1", "keys": {"k1": {"cipher": "aes-256-gcm", "key": crypto._b64e(bytes(32))}},
            "index_active": "i1", "index_keys": {"i1": crypto._b64e(key)}}
    ring = crypto.Keyring(spec)
    values = ["420581198001010011", "0011", "01001X", "王大山", "a" * 200, "", None]
    for purpose in ("registry.person.id_number", "registry.person.id_number.tail4"):
        expected = [f"i1${hmac.new(key, (purpose + chr(0) + v).encode(), hashlib.sha256).hexdigest()[:40]}" if v
                    else "" for v in values]
        assert crypto.blind_index_many(values, purpose, None, ring) == expected
        assert [crypto.blind_index(v, purpose, "i1", ring) for v in values] == expected


def test_base64_helpers_are_the_standard_urlsafe_form():
    for n in range(0, 70):
        data = bytes((11 * i + n) % 256 for i in range(n))
        text = crypto._b64e(data)
        assert text == base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
        assert crypto._b64d(text) == data


def test_keyring_refuses_bad_keys():
    spec = crypto.generate_spec()
    spec["keys"]["k1"]["key"] = crypto._b64e(b"short")
    with pytest.raises(crypto.KeyringError):
        crypto.Keyring(spec)
    with pytest.raises(crypto.KeyringError):
        crypto.Keyring({"keys": {}})
    spec = crypto.generate_spec("sm4-gcm")
    spec["keys"]["k1"]["cipher"] = "aes-256-gcm"  # a 16-byte key cannot be AES-256
    with pytest.raises(crypto.KeyringError):
        crypto.Keyring(spec)


def test_production_refuses_to_start_without_keys(tmp_path):
    import subprocess
    import sys

    env = {"FUPIN_ENV": "production", "FUPIN_SECRET_KEY": "p" * 50, "FUPIN_DATA_DIR": str(tmp_path),
           "PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "config.settings"}
    code = "import django; django.setup()"
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=str(
        __import__("pathlib").Path(__file__).resolve().parents[3]), timeout=120)
    assert run.returncode != 0 and "FUPIN_KEYS_FILE" in run.stderr
    keyfile = tmp_path / "keys.json"
    crypto.write_keyfile(keyfile, crypto.generate_spec("sm4-gcm"))
    assert oct(keyfile.stat().st_mode & 0o777) == "0o600"
    run = subprocess.run([sys.executable, "-c", code + "; from fupin.core import crypto; "
                          "print(crypto.keyring().active_key.cipher)"],
                         env={**env, "FUPIN_KEYS_FILE": str(keyfile)}, capture_output=True, text=True,
                         cwd=str(__import__("pathlib").Path(__file__).resolve().parents[3]), timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "sm4-gcm"


def _raw(table, column, pk):
    with connection.cursor() as cur:
        cur.execute(f'SELECT "{column}" FROM "{table}" WHERE id = %s', [pk])
        return cur.fetchone()[0]


@pytest.mark.django_db
def test_sealed_fields_in_the_registry(county):
    from fupin.registry.models import Household, Person
    from fupin.registry.services import person_update

    hh = make_household(county["va1"], members=2, phone="13912340001")
    head = hh.members.order_by("id").first()
    person_update(actor="t", person=head, phone="13912340002", health=["3", "4"], disability_card="42058119800101123X21")
    raw_phone = _raw("registry_person", "phone", head.pk)
    assert raw_phone.startswith("$e1$") and "1391234" not in raw_phone
    assert _raw("registry_household", "phone", hh.pk).startswith("$e1$")
    assert json.loads(crypto.decrypt(_raw("registry_person", "health", head.pk), "registry.person.health")) == ["3", "4"]
    p = Person.objects.get(pk=head.pk)
    assert (p.phone, p.health, p.disability_card) == ("13912340002", ["3", "4"], "42058119800101123X21")
    row = Person.objects.filter(pk=head.pk).values("phone", "health", "household__phone").get()
    assert row == {"phone": "13912340002", "health": ["3", "4"], "household__phone": "13912340001"}
    other = hh.members.exclude(pk=head.pk).get()
    assert other.phone == "" and other.health == []
    # "has no phone" still works; a search by value must go through a blind index, never compare ciphertexts
    assert set(Person.objects.filter(household=hh, phone="").values_list("pk", flat=True)) == {other.pk}
    with pytest.raises(FieldError):
        list(Person.objects.filter(phone="13912340002"))
    with pytest.raises(FieldError):
        list(Household.objects.filter(phone__contains="1391"))
    # the audit trail records that the phone changed, not the number
    from fupin.core.models import AuditEvent

    text = json.dumps(list(AuditEvent.objects.values("before", "after")), ensure_ascii=False)
    assert "13912340002" not in text and "13912340001" not in text and "[加密 " in text


@pytest.mark.django_db
def test_bulk_inserted_rows_are_sealed(county):
    from fupin.core.bulk import insert_rows
    from fupin.registry.models import Person

    insert_rows(Person, [{"name": "甲", "area_code": county["va1"].code, "phone": "13912340003", "health": ["2"]},
                         {"name": "乙", "area_code": county["va1"].code, "phone": "13912340003"},
                         {"name": "丙", "area_code": county["va1"].code, "phone": ""}])
    p = Person.objects.get(name="甲")
    assert _raw("registry_person", "phone", p.pk).startswith("$e1$")
    assert (p.phone, p.health) == ("13912340003", ["2"])
    q, r = Person.objects.get(name="乙"), Person.objects.get(name="丙")
    # sealed a column at a time, each value with its own nonce; the default (an empty health list) sealed too,
    # an empty phone left empty
    assert _raw("registry_person", "phone", q.pk) != _raw("registry_person", "phone", p.pk)
    assert _raw("registry_person", "health", q.pk).startswith("$e1$") and (q.phone, q.health) == ("13912340003", [])
    assert _raw("registry_person", "phone", r.pk) == "" and r.phone == ""


@pytest.mark.django_db
def test_values_opened_reads_what_values_reads(county):
    """The column-at-a-time read (the roster importer's) gives the dicts `values()` gives, sealed fields opened."""
    from fupin.core.bulk import insert_rows
    from fupin.core.fields import values_opened
    from fupin.registry.models import Person

    insert_rows(Person, [{"name": "戊", "area_code": county["va1"].code, "phone": "13912340006", "health": ["2", "5"],
                          "id_number": "420581198001010011"},
                         {"name": "己", "area_code": county["va1"].code, "phone": ""}])
    qs = Person.objects.filter(name__in=["戊", "己"]).order_by("id")
    names = ("id", "name", "phone", "health", "id_number", "household_id", "disability_card")
    opened = values_opened(qs, *names)
    assert opened == list(qs.values(*names))
    assert opened[0]["phone"] == "13912340006" and opened[0]["health"] == ["2", "5"] and opened[1]["health"] == []
    assert list(opened[0]) == list(names)
    assert values_opened(qs, "id", "name") == list(qs.values("id", "name"))  # nothing sealed asked for
    assert _raw("registry_person", "phone", opened[0]["id"]).startswith("$e1$")  # read sealed, opened in memory


@pytest.mark.django_db
def test_unchanged_since_checks_a_second_read_without_opening_it(county):
    """The roster importer's check that the rows it planned from did not change before it writes: the second read
    compares the sealed values as stored. Unchanged rows pass; a sealed value changed, the same value sealed again
    (a new nonce: counted as changed, the safe side), a plain field changed or a row added each fail."""
    from fupin.core.bulk import insert_rows
    from fupin.core.fields import unchanged_since, values_opened
    from fupin.registry.models import Person

    area = county["va1"].code
    insert_rows(Person, [{"name": "庚", "area_code": area, "phone": "13912340007", "health": ["2"]},
                         {"name": "辛", "area_code": area, "phone": ""}])
    qs = Person.objects.filter(name__in=["庚", "辛", "壬", "癸"])
    names = ("id", "name", "phone", "health")

    def first_read():
        stored: dict = {}
        return values_opened(qs.order_by("id"), *names, stored=stored), stored

    opened, stored = first_read()
    assert opened == list(qs.order_by("id").values(*names))
    assert all(phone == "" or phone.startswith("$e1$") for phone, _health in stored.values())  # kept as stored
    assert unchanged_since(qs, names, opened, stored)
    p = Person.objects.get(name="庚")
    for change in ({"phone": "13912340008"}, {"phone": "13912340008"}, {"health": ["2"]}, {"name": "癸"}):
        Person.objects.filter(pk=p.pk).update(**change)
        assert not unchanged_since(qs, names, opened, stored), change
        opened, stored = first_read()
        assert unchanged_since(qs, names, opened, stored)
    insert_rows(Person, [{"name": "壬", "area_code": area}])
    assert not unchanged_since(qs, names, opened, stored)


def _report(county, phone, **kw):
    from fupin.dispatch.services import minqing_report_create

    return minqing_report_create(actor="t", channel="hotline", category="living", content="路灯坏了",
                                 village=county["va1"], reporter_phone=phone, **kw)


@pytest.mark.django_db
def test_blind_index_finds_exact_values_only(county):
    from fupin.dispatch.models import MinqingReport

    a = _report(county, "13912340004")
    b = _report(county, "13912340005")
    assert a.reporter_phone_index and a.reporter_phone_index != b.reporter_phone_index
    assert "13912340004" not in a.reporter_phone_index
    found = list(MinqingReport.objects.filter(blind_q(MinqingReport, "reporter_phone", "13912340004")))
    assert found == [a]
    assert not MinqingReport.objects.filter(blind_q(MinqingReport, "reporter_phone", "1391234000")).exists()
    assert not MinqingReport.objects.filter(blind_q(MinqingReport, "reporter_phone", "")).exists()


@pytest.mark.django_db
def test_rotation_over_a_populated_database(county, ring_reset):
    """A new data key (SM4) and a new index key: a rotation stopped half way leaves every row readable, the next run
    finishes, and afterwards the old keys can be dropped."""
    from fupin.core.bulk import insert_rows
    from fupin.dispatch.models import MinqingReport
    from fupin.registry.models import Person

    first = _ring("aes-256-gcm")
    with override_settings(FUPIN_KEYS=json.dumps(first)):
        crypto.reset()
        insert_rows(Person, [{"name": f"轮{i}", "area_code": county["va1"].code, "phone": f"1391234{i:04d}",
                              "health": [str(i % 5)], "disability_card": f"4205811980010112{i:02d}"}
                             for i in range(60)])
        reports = [_report(county, f"1381234{i:04d}") for i in range(5)]
        # a value written before encryption was on (the state the migration starts from)
        legacy = Person.objects.get(name="轮0")
        with connection.cursor() as cur:
            cur.execute("UPDATE registry_person SET phone = %s WHERE id = %s", ["13900000000", legacy.pk])
    people = Person.objects.filter(name__startswith="轮").count()
    assert people == 60

    second = _ring("aes-256-gcm", "sm4-gcm", index=("i1", "i2"))
    second["keys"]["k1"] = first["keys"]["k1"]
    with override_settings(FUPIN_KEYS=json.dumps(second)):
        crypto.reset()
        before = rotation.stale_count(Person)
        assert before >= 60
        done = rotation.reseal_model(Person, batch=7, limit=21)  # stopped after three batches
        assert done == 21
        assert rotation.stale_count(Person) == before - 21
        # mid-rotation: old and new rows both read, and the blind index finds rows under either index key
        assert {p.phone for p in Person.objects.filter(name__startswith="轮")} == \
            {"13900000000"} | {f"1391234{i:04d}" for i in range(1, 60)}
        hit = MinqingReport.objects.filter(blind_q(MinqingReport, "reporter_phone", "13812340003"))
        assert list(hit) == [reports[3]]
        out = io.StringIO()
        call_command("crypto", "rotate", "--batch", "9", stdout=out)
        assert rotation.stale_count(Person) == 0 and rotation.stale_count(MinqingReport) == 0
        st = rotation.status()
        assert set(st["registry.person.phone"]) == {"k2"} and set(st["registry.person.health"]) == {"k2"}
        assert MinqingReport.objects.get(pk=reports[3].pk).reporter_phone_index.startswith("i2$")

    only_new = dict(second, keys={"k2": second["keys"]["k2"]}, index_keys={"i2": second["index_keys"]["i2"]})
    with override_settings(FUPIN_KEYS=json.dumps(only_new)):
        crypto.reset()
        got = {p.name: (p.phone, p.health, p.disability_card) for p in Person.objects.filter(name__startswith="轮")}
        assert got["轮0"] == ("13900000000", ["0"], "420581198001011200")
        assert got["轮59"] == ("13912340059", ["4"], "420581198001011259")
        assert list(MinqingReport.objects.filter(blind_q(MinqingReport, "reporter_phone", "13812340003"))) == \
            [reports[3]]


# Files ----------------------------------------------------------------------------------------------------------

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")


@pytest.mark.parametrize("size", [0, 100, crypto.SEGMENT, crypto.SEGMENT * 2 + 5])
def test_storage_seals_files_and_reads_them_back(tmp_path, size):
    storage = filestore.EncryptedFileSystemStorage(location=str(tmp_path))
    data = (b"13912340006 " * (size // 12 + 1))[:size]
    name = storage.save("a/photo.bin", ContentFile(data))
    on_disk = (tmp_path / name).read_bytes()
    assert on_disk.startswith(crypto.MAGIC) and (size == 0 or b"13912340006" not in on_disk)
    assert storage.open(name).read() == data
    assert storage.size(name) == size


def test_tampered_or_cut_files_are_refused(tmp_path):
    storage = filestore.EncryptedFileSystemStorage(location=str(tmp_path))
    data = b"x" * (crypto.SEGMENT + 10)
    name = storage.save("f.bin", ContentFile(data))
    path = tmp_path / name
    sealed = path.read_bytes()
    path.write_bytes(sealed[:200] + bytes([sealed[200] ^ 1]) + sealed[201:])
    with pytest.raises(crypto.CryptoError):
        storage.open(name)
    # the first segment alone (the last one dropped) is not a whole file
    first_len = int.from_bytes(sealed[len(crypto.MAGIC):len(crypto.MAGIC) + 4], "big")
    path.write_bytes(sealed[:len(crypto.MAGIC) + 4 + first_len])
    with pytest.raises(crypto.CryptoError):
        storage.open(name)


def test_photo_parts_are_sealed_as_they_arrive(tmp_path):
    part = tmp_path / "u.part"
    filestore.append_part(part, PNG[:30], first=True)
    filestore.append_part(part, PNG[30:], first=False)
    assert PNG[:8] not in part.read_bytes()
    assert filestore.read_part(part) == PNG


@pytest.mark.django_db
def test_kept_raw_files_are_sealed(tmp_path, settings):
    from fupin.core.services import batch_start

    settings.FUPIN_RAW_DIR = tmp_path / "raw"
    src = tmp_path / "roster.csv"
    src.write_text("姓名,联系电话\n王大山,13912340007\n", encoding="utf-8")
    batch = batch_start(kind="t", source=src, keep_file=True)
    kept = (tmp_path / "raw").glob("*")
    kept = list(kept)
    assert len(kept) == 1 and str(kept[0]) == batch.raw_path
    assert b"13912340007" not in kept[0].read_bytes()
    assert filestore.read_plain(batch.raw_path) == src.read_bytes()


def test_rotation_seals_plain_files_and_old_keys(tmp_path, ring_reset):
    first = _ring("aes-256-gcm")
    (tmp_path / "old.txt").write_bytes(b"13912340008")
    with override_settings(FUPIN_KEYS=json.dumps(first)):
        crypto.reset()
        filestore.write_sealed(tmp_path / "k1.bin", [b"13912340009"])
    second = _ring("aes-256-gcm", "sm4-gcm")
    second["keys"]["k1"] = first["keys"]["k1"]
    with override_settings(FUPIN_KEYS=json.dumps(second)):
        crypto.reset()
        assert rotation.reseal_files([tmp_path]) == 2
        assert rotation.reseal_files([tmp_path]) == 0  # resumable: nothing left to do
    with override_settings(FUPIN_KEYS=json.dumps(dict(second, keys={"k2": second["keys"]["k2"]}))):
        crypto.reset()
        assert filestore.read_plain(tmp_path / "old.txt") == b"13912340008"
        assert filestore.read_plain(tmp_path / "k1.bin") == b"13912340009"


def test_a_broken_keyring_fails_the_check(ring_reset):
    from fupin.core.hooks import keyring_check

    assert keyring_check() == []
    with override_settings(FUPIN_KEYS="{not json"):
        crypto.reset()
        errors = keyring_check()
    assert [e.id for e in errors] == ["fupin.E020"]
