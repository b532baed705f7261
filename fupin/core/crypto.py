"""Encryption at rest: one keyring, authenticated ciphers (AES-256-GCM by default, SM4-GCM as the national-standard
cipher), and a keyed blind index for exact search.

Keys live outside the database: a key file (`FUPIN_KEYS_FILE`) or the environment (`FUPIN_KEYS`), both the same
JSON::

    {"active": "k2",
     "keys": {"k1": {"cipher": "aes-256-gcm", "key": "<base64, 32 bytes>"},
              "k2": {"cipher": "sm4-gcm", "key": "<base64, 16 bytes>"}},
     "index_active": "i1",
     "index_keys": {"i1": "<base64, 32 bytes>"}}

Every value carries the id of the key that sealed it (`$e1$k2$<base64 nonce‖ciphertext‖tag>`), so keys can be
rotated: new values are sealed with the active key, old ones stay readable with theirs until `fupin crypto rotate`
re-seals them. The additional data binds a value to its column ("registry.person.phone"), so a ciphertext copied into
another column does not open. The blind index is HMAC-SHA256 under a separate key (a leak of the index key does not
open values, a leak of a data key does not make the index guessable offline without it).

Production (`FUPIN_ENV=production`) refuses to start without keys (config/settings.py); development and the demo get
a key file generated under `FUPIN_DATA_DIR/keys/` on first use, tests a key generated for the run.

Nothing here logs or raises with a value in it: errors name the column and the key id only.
"""

from __future__ import annotations

import binascii
import functools
import hashlib
import json
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.utils.translation import gettext as _

PREFIX = "$e1$"
CIPHERS = {"aes-256-gcm": 32, "sm4-gcm": 16}
DEFAULT_CIPHER = "aes-256-gcm"
KEY_ID = re.compile(r"^[a-z0-9]{1,8}$")
NONCE = 12
TAG = 16


class CryptoError(Exception):
    """A value or file that cannot be opened (wrong key, changed bytes, unknown key id). Never carries the value."""


class KeyringError(CryptoError):
    """The keyring is missing or malformed."""


_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")


def _b64d(text: str) -> bytes:
    """URL-safe base64 without padding → bytes: what `base64.urlsafe_b64decode` gives (binascii called directly,
    without that function's per-call checks; a character outside the alphabet is skipped as there)."""
    data = (text + "=" * (-len(text) % 4)).encode("ascii").translate(_FROM_URLSAFE)
    return binascii.a2b_base64(data)


def _b64e(data: bytes) -> str:
    """bytes → URL-safe base64 without padding: `base64.urlsafe_b64encode(data).rstrip(b"=")`, binascii called
    directly (a sealed column of an import is encoded value by value)."""
    return binascii.b2a_base64(data, newline=False).translate(_TO_URLSAFE).rstrip(b"=").decode("ascii")


@functools.lru_cache(maxsize=16)
def _aesgcm(key: bytes) -> AESGCM:
    return AESGCM(key)


@dataclass(frozen=True)
class DataKey:
    kid: str
    cipher: str
    key: bytes

    def seal(self, plain: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(NONCE)
        if self.cipher == "aes-256-gcm":
            return nonce + _aesgcm(self.key).encrypt(nonce, plain, aad)
        enc = Cipher(algorithms.SM4(self.key), modes.GCM(nonce)).encryptor()
        enc.authenticate_additional_data(aad)
        body = enc.update(plain) + enc.finalize()
        return nonce + body + enc.tag

    def open(self, sealed: bytes, aad: bytes) -> bytes:
        if len(sealed) < NONCE + TAG:
            raise InvalidTag
        nonce, body = sealed[:NONCE], sealed[NONCE:]
        if self.cipher == "aes-256-gcm":
            return _aesgcm(self.key).decrypt(nonce, body, aad)
        dec = Cipher(algorithms.SM4(self.key), modes.GCM(nonce, body[-TAG:])).decryptor()
        dec.authenticate_additional_data(aad)
        return dec.update(body[:-TAG]) + dec.finalize()


class Keyring:
    """The data keys (by id, one active) and the blind-index keys (by id, one active)."""

    def __init__(self, spec: dict):
        try:
            self.keys = {}
            for kid, entry in spec["keys"].items():
                cipher = entry.get("cipher", DEFAULT_CIPHER)
                key = _b64d(entry["key"])
                if not KEY_ID.match(kid) or cipher not in CIPHERS or len(key) != CIPHERS[cipher]:
                    raise KeyringError(_("Key %(kid)s is not acceptable (its id is 1-8 lower-case letters or digits; algorithm and length must match)") % {"kid": kid})
                self.keys[kid] = DataKey(kid, cipher, key)
            self.active = spec["active"]
            self.index_keys = {}
            for kid, key in spec["index_keys"].items():
                raw = _b64d(key)
                if not KEY_ID.match(kid) or len(raw) < 32:
                    raise KeyringError(_("Index key %(kid)s is not acceptable (at least 32 bytes)") % {"kid": kid})
                self.index_keys[kid] = raw
            self.index_active = spec["index_active"]
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise KeyringError(_("The key file is not in the right form (it needs active, keys, index_active, index_keys)")) from exc
        if self.active not in self.keys or self.index_active not in self.index_keys:
            raise KeyringError(_("The current key id is not in the list of keys"))

    @property
    def active_key(self) -> DataKey:
        return self.keys[self.active]

    def spec(self) -> dict:
        return {"active": self.active,
                "keys": {k.kid: {"cipher": k.cipher, "key": _b64e(k.key)} for k in self.keys.values()},
                "index_active": self.index_active,
                "index_keys": {kid: _b64e(v) for kid, v in self.index_keys.items()}}


def generate_spec(cipher: str = DEFAULT_CIPHER, kid: str = "k1", index_kid: str = "i1") -> dict:
    """A new keyring: one data key of `cipher` and one blind-index key."""
    if cipher not in CIPHERS:
        raise KeyringError(_("Unsupported algorithm %(cipher)s (available: %(ciphers)s)") % {"cipher": cipher, "ciphers": ", ".join(CIPHERS)})
    return {"active": kid, "keys": {kid: {"cipher": cipher, "key": _b64e(os.urandom(CIPHERS[cipher]))}},
            "index_active": index_kid, "index_keys": {index_kid: _b64e(os.urandom(32))}}


def add_key(spec: dict, cipher: str = DEFAULT_CIPHER, kid: str | None = None) -> str:
    """Add a new data key to `spec` and make it active; return its id (the old keys stay, to read old values)."""
    if cipher not in CIPHERS:
        raise KeyringError(_("Unsupported algorithm %(cipher)s") % {"cipher": cipher})
    n = len(spec["keys"]) + 1
    while kid is None or kid in spec["keys"]:
        kid, n = f"k{n}", n + 1
    spec["keys"][kid] = {"cipher": cipher, "key": _b64e(os.urandom(CIPHERS[cipher]))}
    spec["active"] = kid
    return kid


def write_keyfile(path: str | Path, spec: dict) -> None:
    """Write a key file readable by its owner only (atomically: a new file renamed over the old)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(spec, fh, indent=1)
    os.replace(tmp, path)


_lock = threading.Lock()
_cached: tuple[tuple, Keyring] | None = None


def _source() -> tuple[str, str]:
    from django.conf import settings

    env = getattr(settings, "FUPIN_KEYS", "") or ""
    if env:
        return "env", env
    path = getattr(settings, "FUPIN_KEYS_FILE", "") or ""
    if path:
        return "file", str(path)
    if getattr(settings, "FUPIN_KEYS_REQUIRED", False):
        raise KeyringError(_("Production must set FUPIN_KEYS_FILE or FUPIN_KEYS (keys may not be kept in the database)"))
    return "file", str(Path(settings.DATA_DIR) / "keys" / "fupin-keys.json")


def keyring() -> Keyring:
    """The configured keyring (read once; `reset()` after changing the key file; a change of the settings that name
    it resets it too)."""
    cached = _cached
    if cached is not None:
        return cached[1]
    return _load()


def _load() -> Keyring:
    global _cached
    source = _source()
    cached = _cached
    if cached is not None and cached[0] == source:
        return cached[1]
    with _lock:
        kind, where = source
        if kind == "env":
            try:
                spec = json.loads(where)
            except ValueError as exc:
                raise KeyringError(_("FUPIN_KEYS is not valid JSON")) from exc
        else:
            path = Path(where)
            if not path.exists():
                from django.conf import settings

                if getattr(settings, "FUPIN_KEYS_REQUIRED", False) or getattr(settings, "FUPIN_KEYS_FILE", ""):
                    raise KeyringError(_("The key file does not exist: %(path)s") % {"path": path})
                _create_once(path)
            try:
                spec = json.loads(path.read_text())
            except (OSError, ValueError) as exc:
                raise KeyringError(_("The key file cannot be read: %(path)s") % {"path": path}) from exc
        ring = Keyring(spec)
        _cached = (source, ring)
        return ring


def _create_once(path: Path) -> None:
    """Development and demo: generate the key file once (two processes starting together keep the first)."""
    from django.conf import settings

    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    spec = generate_spec(getattr(settings, "FUPIN_CIPHER", DEFAULT_CIPHER))
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as fh:
        json.dump(spec, fh, indent=1)


def reset(**_kw) -> None:
    global _cached
    _cached = None


def _setting_changed(*, setting: str, **_kw) -> None:
    if setting in ("FUPIN_KEYS", "FUPIN_KEYS_FILE", "FUPIN_KEYS_REQUIRED", "DATA_DIR"):
        reset()


def _connect() -> None:
    from django.core.signals import setting_changed

    setting_changed.connect(_setting_changed, dispatch_uid="fupin.core.crypto.keyring")


_connect()


# Values ----------------------------------------------------------------------------------------------------------


def encrypt(plain: str, purpose: str, ring: Keyring | None = None) -> str:
    """Seal text for the column `purpose` with the active key."""
    key = (ring or keyring()).active_key
    sealed = key.seal(plain.encode("utf-8"), f"{purpose}|{key.kid}".encode())
    return f"{PREFIX}{key.kid}${_b64e(sealed)}"


def encrypt_many(values, purpose: str, ring: Keyring | None = None) -> list:
    """`encrypt` over many values of one column (an import of 100,000 rows): the key, its cipher context, the
    additional data and the prefix are taken once for the whole column, the nonces drawn in one call; each value
    still gets its own random nonce, and the result is what `encrypt` would give value by value. Empty and None
    values come back as they are (an empty value is stored empty, fupin/core/fields.py)."""
    key = (ring or keyring()).active_key
    aad = f"{purpose}|{key.kid}".encode()
    head = f"{PREFIX}{key.kid}$"
    values = list(values)
    nonces = os.urandom(NONCE * len(values))
    out = []
    append = out.append
    b64, urlsafe = binascii.b2a_base64, _TO_URLSAFE  # what _b64e does, inlined (the loop runs once per value)
    if key.cipher == "aes-256-gcm":
        seal = _aesgcm(key.key).encrypt
        for n, value in enumerate(values):
            if value is None or value == "":
                append(value)
                continue
            nonce = nonces[n * NONCE:(n + 1) * NONCE]
            append(head + b64(nonce + seal(nonce, value.encode("utf-8"), aad), newline=False)
                   .translate(urlsafe).rstrip(b"=").decode("ascii"))
        return out
    for value in values:  # SM4-GCM: no one-call AEAD in the library, the value's own context
        append(value if value is None or value == "" else
               head + _b64e(key.seal(value.encode("utf-8"), aad)))
    return out


def is_encrypted(value) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def key_id(value: str) -> str:
    """The id of the key that sealed `value` ("" for a value that is not sealed)."""
    if not is_encrypted(value):
        return ""
    return value[len(PREFIX):].split("$", 1)[0]


def decrypt(value: str, purpose: str, ring: Keyring | None = None) -> str:
    """Open a sealed value of the column `purpose`; a value that was never sealed (written before encryption was
    turned on, waiting for `fupin crypto rotate`) is returned as it is."""
    if not is_encrypted(value):
        return value
    ring = ring or keyring()
    try:
        kid, body = value[len(PREFIX):].split("$", 1)
    except ValueError:
        raise CryptoError(_("%(purpose)s: the ciphertext is not in the right form") % {"purpose": purpose}) from None
    key = ring.keys.get(kid)
    if key is None:
        raise CryptoError(_("%(purpose)s: key %(kid)s is not in the key file") % {"purpose": purpose, "kid": kid})
    try:
        return key.open(_b64d(body), f"{purpose}|{kid}".encode()).decode("utf-8")
    except (InvalidTag, ValueError, UnicodeDecodeError):
        raise CryptoError(_("%(purpose)s: the ciphertext does not verify (key %(kid)s); it may have been altered")
                          % {"purpose": purpose, "kid": kid}) from None


def decrypt_many(values, purpose: str, ring: Keyring | None = None) -> list:
    """`decrypt` over many values of one column (a registry read of 400,000 rows): the key, its cipher context and
    the additional data are looked up once per key id, not once per value. Empty and never-sealed values come back
    as they are; a value that cannot be opened raises CryptoError as `decrypt` does."""
    ring = ring or keyring()
    contexts: dict[str, tuple] = {}
    start = len(PREFIX)
    out = []
    append = out.append
    for value in values:
        if not value or not isinstance(value, str) or not value.startswith(PREFIX):
            append(value)
            continue
        kid, sep, body = value[start:].partition("$")
        ctx = contexts.get(kid)
        if ctx is None:
            key = ring.keys.get(kid)
            if key is None or not sep:
                append(decrypt(value, purpose, ring))  # raises the same error as one value would
                continue
            aad = f"{purpose}|{kid}".encode()
            ctx = contexts[kid] = (key, aad, _aesgcm(key.key) if key.cipher == "aes-256-gcm" else None)
        key, aad, gcm = ctx
        try:
            sealed = _b64d(body)
            if gcm is None or len(sealed) < NONCE + TAG:
                append(key.open(sealed, aad).decode("utf-8"))
            else:
                append(gcm.decrypt(sealed[:NONCE], sealed[NONCE:], aad).decode("utf-8"))
        except (InvalidTag, ValueError, UnicodeDecodeError):
            raise CryptoError(_("%(purpose)s: the ciphertext does not verify (key %(kid)s); it may have been altered")
                          % {"purpose": purpose, "kid": kid}) from None
    return out


# Blind index -----------------------------------------------------------------------------------------------------


_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))
_HASH_BLOCK = 64  # SHA-256's block size


@functools.lru_cache(maxsize=64)
def _hmac_states(key: bytes, head: bytes) -> tuple:
    """HMAC-SHA256 (RFC 2104) under `key` with the fixed start of every message (`head`, the column's purpose)
    already absorbed: the inner state after (key ⊕ ipad) ‖ head and the outer state after (key ⊕ opad). Copying the
    two states per value gives exactly `hmac.digest(key, head + value, "sha256")`, without deriving the pads and
    hashing the key blocks again for each value (three indexes per ID number of an import of 400,000 rows)."""
    if len(key) > _HASH_BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_HASH_BLOCK, b"\0")
    inner = hashlib.sha256(key.translate(_IPAD))
    inner.update(head)
    return inner, hashlib.sha256(key.translate(_OPAD))


def _macs(key: bytes, head: bytes, values) -> list[str]:
    """The HMAC-SHA256 of head ‖ value for each value (empty for an empty or None value), the index's 40 hex
    characters."""
    inner, outer = _hmac_states(key, head)
    out = []
    append = out.append
    for value in values:
        if value is None or value == "":
            append("")
            continue
        i = inner.copy()
        i.update(value.encode())
        o = outer.copy()
        o.update(i.digest())
        append(o.hexdigest()[:40])
    return out


def blind_index(value: str, purpose: str, kid: str | None = None, ring: Keyring | None = None) -> str:
    """The keyed index of `value` for the column `purpose` ("" for an empty value): equal values of one column give
    equal indexes under one index key; nothing about the value can be learnt from it without the key. It is
    `kid` + "$" + the first 40 hex characters of HMAC-SHA256(index key, purpose ‖ NUL ‖ value)."""
    if value in (None, ""):
        return ""
    ring = ring or keyring()
    kid = kid or ring.index_active
    return f"{kid}${_macs(ring.index_keys[kid], (purpose + chr(0)).encode(), [value])[0]}"


def blind_index_many(values, purpose: str, kid: str | None = None, ring: Keyring | None = None) -> list[str]:
    """`blind_index` over many values of one column, the key and the purpose taken once (the same indexes)."""
    ring = ring or keyring()
    kid = kid or ring.index_active
    head = f"{kid}$"
    return [head + mac if mac else "" for mac in _macs(ring.index_keys[kid], (purpose + chr(0)).encode(), values)]


def blind_indexes(value: str, purpose: str, ring: Keyring | None = None) -> list[str]:
    """The value's index under every index key (a search during an index-key rotation finds rows of both)."""
    ring = ring or keyring()
    return [blind_index(value, purpose, kid, ring) for kid in ring.index_keys] if value else []


# Files -----------------------------------------------------------------------------------------------------------
# A sealed file: MAGIC, then segments of at most SEGMENT plain bytes, each [4-byte length][key id][$][sealed]; a
# segment's additional data carries its number and whether it is the last, so segments cannot be re-ordered, dropped
# or a file cut short unnoticed.

MAGIC = b"FUPINENC1\n"
SEGMENT = 1 << 20


def _segment_aad(purpose: str, kid: str, n: int, last: bool) -> bytes:
    return f"{purpose}|{kid}|{n}|{int(last)}".encode()


def seal_segment(plain: bytes, n: int, last: bool, purpose: str = "file", ring: Keyring | None = None) -> bytes:
    key = (ring or keyring()).active_key
    body = key.kid.encode() + b"$" + key.seal(plain, _segment_aad(purpose, key.kid, n, last))
    return len(body).to_bytes(4, "big") + body


def seal_chunks(chunks, purpose: str = "file", ring: Keyring | None = None):
    """Yield MAGIC and the sealed segments of an iterable of byte chunks (re-cut to SEGMENT bytes)."""
    ring = ring or keyring()
    yield MAGIC
    buf = b""
    n = 0
    pending = None
    for chunk in chunks:
        buf += chunk
        while len(buf) >= SEGMENT:
            if pending is not None:
                yield seal_segment(pending, n, False, purpose, ring)
                n += 1
            pending, buf = buf[:SEGMENT], buf[SEGMENT:]
    if pending is not None and buf:
        yield seal_segment(pending, n, False, purpose, ring)
        n += 1
        pending = None
    yield seal_segment(pending if pending is not None else buf, n, True, purpose, ring)


def open_segments(read, purpose: str = "file", ring: Keyring | None = None, require_last: bool = True):
    """Yield the plain bytes of a sealed file read through `read(n)` (after MAGIC)."""
    ring = ring or keyring()
    n = 0
    last = False
    while True:
        head = read(4)
        if not head:
            break
        if last:
            raise CryptoError(_("%(purpose)s: the file has data after its last segment") % {"purpose": purpose})
        size = int.from_bytes(head, "big")
        body = read(size)
        if len(head) < 4 or len(body) < size:
            raise CryptoError(_("%(purpose)s: the file is incomplete") % {"purpose": purpose})
        kid, _dollar, sealed = body.partition(b"$")
        key = ring.keys.get(kid.decode("ascii", "replace"))
        if key is None:
            raise CryptoError(_("%(purpose)s: key %(kid)s is not in the key file")
                              % {"purpose": purpose, "kid": kid.decode("ascii", "replace")})
        for flag in (False, True):
            try:
                plain = key.open(sealed, _segment_aad(purpose, key.kid, n, flag))
            except InvalidTag:
                continue
            last = flag
            break
        else:
            raise CryptoError(_("%(purpose)s: segment %(n)s of the file does not verify; it may have been altered")
                              % {"purpose": purpose, "n": n + 1})
        yield plain
        n += 1
    if require_last and not last:
        raise CryptoError(_("%(purpose)s: the file is incomplete (the last segment is missing)") % {"purpose": purpose})
