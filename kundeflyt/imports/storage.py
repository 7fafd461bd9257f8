"""The uploaded file, kept in the database in pieces of a megabyte: every application server
and worker can read it (they share no disk), and it survives a restart. Readers get it back as
a temporary file, since calamine reads spreadsheets from a path."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from django.conf import settings
from django.utils.translation import gettext as _

from kundeflyt.common.errors import DomainError
from kundeflyt.imports.models import ImportBatch, ImportFileChunk

CHUNK_BYTES = 1024 * 1024


def _too_large() -> DomainError:
    return DomainError(
        _("The file is too large: at most %(mb)s MB.")
        % {"mb": settings.IMPORT_MAX_BYTES // (1024 * 1024)},
        field="file",
    )


def spool_upload(source: IO[bytes] | Iterable[bytes]) -> tuple[Path, str, int]:
    """Copy an upload to a temporary file, counting and hashing it, and stop at the size
    limit: the path (the caller removes it), the SHA-256 and the size."""
    digest = hashlib.sha256()
    size = 0
    handle = tempfile.NamedTemporaryFile(prefix="kf-import-", delete=False)  # noqa: SIM115
    try:
        with handle:
            for block in _blocks(source):
                size += len(block)
                if size > settings.IMPORT_MAX_BYTES:
                    raise _too_large()
                digest.update(block)
                handle.write(block)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
    return Path(handle.name), digest.hexdigest(), size


def _blocks(source: IO[bytes] | Iterable[bytes]) -> Iterator[bytes]:
    if hasattr(source, "chunks"):  # a Django UploadedFile
        yield from source.chunks(CHUNK_BYTES)
    elif hasattr(source, "read"):
        while block := source.read(CHUNK_BYTES):
            yield block
    else:
        yield from source


def store(batch: ImportBatch, path: Path) -> None:
    """Keep the file with its batch (inside the caller's transaction)."""
    with path.open("rb") as handle:
        position = 0
        while block := handle.read(CHUNK_BYTES):
            ImportFileChunk.objects.create(batch=batch, position=position, data=block)
            position += 1


@contextmanager
def spooled(batch: ImportBatch) -> Iterator[Path]:
    """The batch's file as a temporary file, removed afterwards; read a piece at a time."""
    handle = tempfile.NamedTemporaryFile(prefix="kf-import-", delete=False)  # noqa: SIM115
    path = Path(handle.name)
    try:
        with handle:
            ids = ImportFileChunk.objects.filter(batch=batch).order_by("position")
            for pk in ids.values_list("pk", flat=True):
                data = ImportFileChunk.objects.filter(pk=pk).values_list("data", flat=True)[0]
                handle.write(bytes(data))
        yield path
    finally:
        path.unlink(missing_ok=True)
