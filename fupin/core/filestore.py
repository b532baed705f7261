"""Files kept encrypted on disk: uploaded attachments and photos (the default storage), raw imported files, and the
chunks of a photo arriving from a phone. One format (fupin/core/crypto.py: MAGIC, then sealed segments of 1 MiB),
read back into memory or as a stream; a file written before encryption was turned on (no MAGIC) reads as it is
until `fupin crypto rotate --files` seals it.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from django.core.files.base import File
from django.core.files.storage import FileSystemStorage

from fupin.core import crypto

PURPOSE = "file"


def is_sealed(path: str | Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(len(crypto.MAGIC)) == crypto.MAGIC
    except OSError:
        return False


def write_sealed(dest: str | Path, chunks, purpose: str = PURPOSE) -> None:
    """Write the byte chunks to `dest`, sealed (a new file renamed into place: a reader never sees half a file)."""
    dest = Path(dest)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.part")
    try:
        with open(tmp, "wb") as out:
            for piece in crypto.seal_chunks(chunks, purpose):
                out.write(piece)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def file_chunks(path: str | Path, size: int = crypto.SEGMENT):
    with open(path, "rb") as fh:
        yield from iter(lambda: fh.read(size), b"")


def seal_copy(src: str | Path, dest: str | Path) -> None:
    """Copy a plain file to `dest`, sealed."""
    write_sealed(dest, file_chunks(src))


def read_plain(path: str | Path, purpose: str = PURPOSE, require_last: bool = True) -> bytes:
    """The file's plain bytes (a file that was never sealed is returned as it is)."""
    with open(path, "rb") as fh:
        if fh.read(len(crypto.MAGIC)) != crypto.MAGIC:
            fh.seek(0)
            return fh.read()
        return b"".join(crypto.open_segments(fh.read, purpose, require_last=require_last))


def plain_size(path: str | Path) -> int:
    """The plain size of a sealed file from its segment lengths (no decryption); the file size for a plain file."""
    with open(path, "rb") as fh:
        if fh.read(len(crypto.MAGIC)) != crypto.MAGIC:
            return os.fstat(fh.fileno()).st_size
        total = 0
        while head := fh.read(4):
            size = int.from_bytes(head, "big")
            kid_and_sep = fh.read(10)  # a key id is at most 8 characters, then "$"
            sep = kid_and_sep.find(b"$")
            total += size - (sep + 1) - crypto.NONCE - crypto.TAG
            fh.seek(size - len(kid_and_sep), io.SEEK_CUR)
        return total


# Chunks of a photo arriving from a phone ---------------------------------------------------------------------------

def append_part(path: str | Path, data: bytes, *, first: bool) -> None:
    """Append one received chunk to a part file as a sealed segment (the part is re-sealed whole when it becomes
    a photo)."""
    n = 0
    if not first:
        with open(path, "rb") as fh:
            if fh.read(len(crypto.MAGIC)) == crypto.MAGIC:
                while head := fh.read(4):
                    fh.seek(int.from_bytes(head, "big"), io.SEEK_CUR)
                    n += 1
    segment = crypto.seal_segment(data, n, False, "upload-part")
    with open(path, "wb" if first else "ab") as fh:
        if first:
            fh.write(crypto.MAGIC)
        fh.write(segment)


def read_part(path: str | Path) -> bytes:
    return read_plain(path, "upload-part", require_last=False)


# The default storage ------------------------------------------------------------------------------------------------

class _Sealing(File):
    """What the file system storage writes: the sealed form of `content` (no temporary_file_path, so the plain
    temporary file of a large upload is copied sealed, never moved into place)."""

    def __init__(self, content):
        super().__init__(None, getattr(content, "name", None))
        self._content = content

    def chunks(self, chunk_size=None):
        if hasattr(self._content, "seek"):
            try:
                self._content.seek(0)
            except (OSError, ValueError):
                pass
        yield from crypto.seal_chunks(self._content.chunks(crypto.SEGMENT) if hasattr(self._content, "chunks")
                                      else iter(lambda: self._content.read(crypto.SEGMENT), b""), PURPOSE)


class EncryptedFileSystemStorage(FileSystemStorage):
    """FileSystemStorage whose files are sealed on disk and opened into memory (uploads here are at most
    FUPIN_UPLOAD_MAX_MB; photos at most 10 MB)."""

    def _save(self, name, content):
        return super()._save(name, _Sealing(content))

    def _open(self, name, mode="rb"):
        if "w" in mode or "a" in mode or "+" in mode:
            raise ValueError("encrypted storage files are written through save()")
        data = read_plain(self.path(name))
        f = File(io.BytesIO(data), name=name)
        f.mode = mode
        return f

    def size(self, name):
        return plain_size(self.path(name))
