"""Writing our own files (attachments, answers, exports): what a refused write means.

A full disk, a read-only mount or an exhausted quota says nothing about the message being
written, so it must not count against the message's attempts or send it to failures:
:func:`local_writes` turns such an ``OSError`` into :class:`LocalStorageError`, which stops the
job with one clear line for the operator; the work resumes once there is space.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from connector.errors import LocalStorageError, Phrase
from connector.i18n import N_

_HINTS = {errno.ENOSPC: N_("the disk is full"), errno.EDQUOT: N_("the disk quota is exhausted"),
          errno.EROFS: N_("the file system is read-only"), errno.EACCES: N_("permission denied"),
          errno.EFBIG: N_("the file is larger than this system allows")}


@contextmanager
def local_writes(what: str) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        known = _HINTS.get(exc.errno or 0)
        hint = Phrase(known) if known else exc.strerror or type(exc).__name__
        raise LocalStorageError(N_("cannot write {what}: {hint} ({error}); free space or fix the directory, the work "
                                   "resumes on the next run"),
                                params={"what": what, "hint": hint, "error": exc.strerror or exc}) from None


def write_atomically(path: Path, content: bytes) -> None:
    """``path`` holds all of ``content`` or is untouched; a failed write leaves no partial file."""
    tmp = path.with_suffix(path.suffix + ".part")
    with local_writes(str(path)):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tmp.open("wb") as fh:
                fh.write(content)
                fh.flush()
                os.fsync(fh.fileno())
            tmp.replace(path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
