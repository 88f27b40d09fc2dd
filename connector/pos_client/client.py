"""The POS v1 client of one account (ЛКО): the calls the pipeline makes.

Error policy: the one table of :mod:`connector.transport`, with POS's own rows:

=====================================  ======================================================
what came back                         what the caller gets
=====================================  ======================================================
401                                    a new token once, the call repeated; again → AuthError
429, 5xx, timeout, connection error    retried by the session; then TransientError
3xx                                    TransientError
400, 403, 404, 409, 422 (other 4xx)    RemoteRejected(status, code from the error body): 403
                                       refuses one appeal, not the account
409 ALREADY_ANSWERED on ``/answer``    success (the answer is already there)
malformed JSON / contract violation    TransientError (a garbled response is a transport fault)
=====================================  ======================================================

Operator messages carry the account name, the call and the POS id -- never the password,
a token, or the applicant's data.
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import json
import logging
import os
import re
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from http.client import IncompleteRead
from pathlib import Path, PurePosixPath
from typing import IO, Any, TypeVar
from urllib.parse import quote, urlsplit

import requests
import urllib3.exceptions
from pydantic import AwareDatetime, BaseModel, ConfigDict

from connector.domain import PosAttachmentRef, PosStatus, StoredFile
from connector.errors import IntegrityError, Phrase, RemoteRejected, TransientError
from connector.i18n import N_, _
from connector.local_files import local_writes
from connector.pos_client import wire
from connector.pos_client.auth import TokenManager
from connector.pos_client.settings import AccountSettings, pos_account
from connector.transport import (
    DEFAULT_TABLE,
    Action,
    BodyCheck,
    Peer,
    Resolution,
    RetryingSession,
    Rule,
    Table,
)

M = TypeVar("M")
log = logging.getLogger(__name__)

#: POS answers 403 for one appeal it will not let this account touch: that item is refused, not the login.
POS_TABLE: Table = {**DEFAULT_TABLE, 403: Rule(Action.FAIL, RemoteRejected)}

_BROKEN_STREAM = (
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    urllib3.exceptions.ProtocolError,
    urllib3.exceptions.ReadTimeoutError,
    IncompleteRead,
)
_SAFE_ID = re.compile(r"[^A-Za-z0-9_-]")
_SAFE_EXT = re.compile(r"^\.[a-z0-9]{1,10}$")
_RESERVED = frozenset({"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))})


def safe_file_name(attachment_id: str, remote_name: str) -> str:
    """A file name for an attachment that is safe on any file system.

    Built from the POS attachment id plus the remote name's extension only when that
    extension is short and alphanumeric; the remote name itself never becomes a path.
    """
    stem = _SAFE_ID.sub("_", attachment_id)[:64]
    if stem != attachment_id or not stem:
        stem = f"{stem}-{hashlib.sha256(attachment_id.encode()).hexdigest()[:12]}".lstrip("-")
    if stem.lower() in _RESERVED:
        stem = f"_{stem}"
    ext = PurePosixPath(remote_name.replace("\\", "/").replace("\x00", "")).suffix.lower()
    return stem + (ext if _SAFE_EXT.match(ext) else "")


def http_date(value: str | None) -> datetime | None:
    """An HTTP ``Date`` header as an aware UTC time; None when absent or unreadable."""
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _error_body(response: requests.Response, resolution: Resolution) -> Resolution:
    """POS's error body (``{"code", "message"}``) gives a refused call its code and detail."""
    if resolution.action is Action.SUCCESS or (resolution.status or 0) < 400:
        return resolution
    try:
        error: wire.WireError | None = wire.WireError.model_validate(json.loads(response.content))
    except (ValueError, TypeError, requests.RequestException):
        error = None
    if error is None:
        return resolution
    return resolution.refine(reason=f"{resolution.reason} ({error.code})", code=error.code,
                             detail=(error.message or "")[:200])


def _write_done(response: requests.Response, resolution: Resolution) -> Resolution:
    """A write (status, redirect, answer) under our key.  Our key is the write's identity -- this message,
    this kind, this target (``OutboxItem.idempotency_key``) -- so POS refusing it as used for another
    request (422 IDEMPOTENCY_KEY_REUSED) means it already took this write, with the details of an
    earlier send we no longer know of (a restored store, a card changed since): the write is done."""
    resolution = _error_body(response, resolution)
    if resolution.status == 422 and resolution.code == wire.ERR_IDEMPOTENCY_REUSED:
        log.warning("POS already took this write under its idempotency key, with an earlier send's details",
                    extra={"endpoint": urlsplit(response.url).path})
        return resolution.succeed()
    return resolution


def _already_answered_is_success(response: requests.Response, resolution: Resolution) -> Resolution:
    """``/answer``: an appeal that already has its answer (409 ALREADY_ANSWERED) is done."""
    resolution = _write_done(response, resolution)
    if resolution.status == 409 and resolution.code == wire.ERR_ALREADY_ANSWERED:
        return resolution.succeed()
    return resolution


class ListedPage(BaseModel):
    """One page of the appeal listing and the POS server's own time when it served it."""

    model_config = ConfigDict(frozen=True)

    items: list[wire.WireListItem]
    next_cursor: str | None = None
    server_date: AwareDatetime | None = None


class PosClient:
    """One POS account's client over an injected :class:`~connector.transport.RetryingSession`.

    The client owns the session: :meth:`close` closes it.
    """

    def __init__(self, account: AccountSettings, session: RetryingSession, *, chunk_size: int = 1 << 16) -> None:
        self.account = account
        self._session = session
        self._peer = Peer(pos_account(account.name), credentials=Phrase(N_("token")))
        self._base = account.pos_base_url.rstrip("/")
        self._chunk_size = chunk_size
        self._tokens = TokenManager(account, session)

    # --- reading ------------------------------------------------------------------------

    def list_changes(self, updated_since: datetime | None) -> Iterator[wire.WireListItem]:
        """Every appeal changed since ``updated_since`` (inclusive), in server order, all pages."""
        for page in self.list_pages(updated_since):
            yield from page.items

    def list_pages(self, updated_since: datetime | None) -> Iterator[ListedPage]:
        """The listing page by page, each with the time the POS server gave in its ``Date`` header
        (the pull watermark's signpost).  Only an identical repeated cursor is caught here; the
        caller bounds the listing."""
        params: dict[str, str | int] = {wire.PARAM_LIMIT: self.account.page_size}
        if updated_since is not None:
            if updated_since.tzinfo is None:
                raise ValueError("updated_since must be timezone-aware")
            params[wire.PARAM_UPDATED_SINCE] = updated_since.isoformat()
        seen: set[str] = set()
        cursor: str | None = None
        while True:
            page_params = dict(params)
            if cursor is not None:
                page_params[wire.PARAM_CURSOR] = cursor
            call = f"GET {wire.PATH_APPEALS}"
            with self._send("GET", wire.PATH_APPEALS, params=page_params) as response:
                page: wire.WireListPage = wire.decode(wire.WireListPage, response.content, what=call)
                server_date = http_date(response.headers.get("Date"))
            yield ListedPage(items=page.items, next_cursor=page.next_cursor, server_date=server_date)
            if not page.next_cursor:
                return
            if page.next_cursor in seen:
                raise TransientError(N_("{who}: the appeal listing returned the same cursor twice; stopped "
                                        "to avoid an endless loop"), params={"who": self._who()})
            seen.add(page.next_cursor)
            cursor = page.next_cursor

    def get_appeal(self, pos_id: str) -> wire.WireAppeal:
        return self._get_json(wire.PATH_APPEAL.format(id=quote(pos_id, safe="")), wire.WireAppeal)

    def current_status(self, pos_id: str) -> PosStatus:
        return self.get_appeal(pos_id).status

    def categories(self) -> list[wire.WireCategory]:
        return self._get_json(wire.PATH_CATEGORIES, wire.CATEGORY_LIST)

    def download_attachment(self, pos_id: str, attachment: PosAttachmentRef, dest_dir: Path) -> StoredFile:
        """Stream one attachment into ``dest_dir``, verified by size; atomic rename on success."""
        path = wire.PATH_FILE.format(id=quote(pos_id, safe=""), file_id=quote(attachment.id, safe=""))
        what = Phrase(N_("attachment {id} of appeal {pos_id}"), {"id": attachment.id, "pos_id": pos_id})
        final = dest_dir / safe_file_name(attachment.id, attachment.name)
        with local_writes(f"{what.english()} in {dest_dir}"):
            dest_dir.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=dest_dir, prefix=".download-", suffix=".part")
        tmp = Path(tmp_name)
        try:
            digest = hashlib.sha256()
            written = 0
            with os.fdopen(fd, "wb") as out, self._send("GET", path, stream=True) as response:
                announced = response.headers.get("Content-Length")
                try:
                    for chunk in response.iter_content(self._chunk_size):
                        written += len(chunk)
                        if written > attachment.size:
                            raise IntegrityError(N_("{who}: {what} is larger than the announced {size} bytes"),
                                                 params={"who": self._who(), "what": what, "size": attachment.size})
                        digest.update(chunk)
                        with local_writes(f"{what.english()} in {dest_dir}"):
                            out.write(chunk)
                except _BROKEN_STREAM as exc:
                    raise TransientError(N_("{who}: download of {what} broke off after {written} bytes ({kind})"),
                                         params={"who": self._who(), "what": what, "written": written,
                                                 "kind": type(exc).__name__}) from None
                with local_writes(f"{what.english()} in {dest_dir}"):
                    out.flush()  # a refused write surfaces here, not in close()
            if written != attachment.size:
                raise IntegrityError(N_("{who}: {what} has {written} bytes, POS announced {size}"),
                                     params={"who": self._who(), "what": what, "written": written,
                                             "size": attachment.size})
            if announced is not None and announced.isdigit() and int(announced) != written:
                raise IntegrityError(N_("{who}: {what} has {written} bytes, Content-Length was {announced}"),
                                     params={"who": self._who(), "what": what, "written": written,
                                             "announced": announced})
            with local_writes(f"{what.english()} in {dest_dir}"):
                os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return StoredFile(name=attachment.name, size=written, sha256=digest.hexdigest(),
                          mime_type=attachment.mime_type, path=final)

    # --- writing ------------------------------------------------------------------------

    def set_status(self, pos_id: str, status: PosStatus, *, idempotency_key: str, comment: str = "",
                   executor: str = "", planned_date: date | None = None) -> None:
        body = wire.WireStatusRequest(status=status, comment=comment or None, executor=executor or None,
                                      planned_date=planned_date).to_wire()
        self._send("POST", wire.PATH_STATUS.format(id=quote(pos_id, safe="")), json=body, check=_write_done,
                   headers={wire.HEADER_IDEMPOTENCY_KEY: idempotency_key}).close()

    def send_answer(self, pos_id: str, *, text: str, decision: str, signer: str, answer_date: date,
                    files: Sequence[tuple[str, Path, str]], idempotency_key: str) -> None:
        """The final answer, multipart; files are streamed from disk.  An appeal that
        already has an answer (409 ALREADY_ANSWERED) counts as success."""
        answer = wire.WireAnswer(text=text, decision=decision, signer=signer, date=answer_date).to_wire()
        with contextlib.ExitStack() as stack:
            opened = [(name, stack.enter_context(Path(p).open("rb")), mime) for name, p, mime in files]
            body = MultipartBody(json.dumps(answer, ensure_ascii=False).encode(), opened)
            headers = {"Content-Type": body.content_type, wire.HEADER_IDEMPOTENCY_KEY: idempotency_key}
            self._send("POST", wire.PATH_ANSWER.format(id=quote(pos_id, safe="")), data=body, headers=headers,
                       check=_already_answered_is_success).close()

    def redirect(self, pos_id: str, *, target_org_id: str, comment: str, idempotency_key: str) -> None:
        body = wire.WireRedirect(target_org_id=target_org_id, comment=comment).to_wire()
        self._send("POST", wire.PATH_REDIRECT.format(id=quote(pos_id, safe="")), json=body, check=_write_done,
                   headers={wire.HEADER_IDEMPOTENCY_KEY: idempotency_key}).close()

    def upload_showcase(self, items: Sequence[dict[str, Any]]) -> list[wire.WireShowcaseResult]:
        """Items (wire form) to the data showcase; one result per item, by its index in ``items``.
        Idempotent: the showcase keys an item by its id, so a repeated upload replaces it."""
        with self._send("POST", wire.PATH_SHOWCASE, json=list(items)) as response:
            results: list[wire.WireShowcaseResult] = wire.decode(wire.SHOWCASE_RESULTS, response.content,
                                                                 what=f"POST {wire.PATH_SHOWCASE}")
        return results

    def close(self) -> None:
        self._tokens.invalidate()
        self._session.close()

    # --- plumbing -----------------------------------------------------------------------

    def _who(self) -> Phrase:
        return pos_account(self.account.name)

    def _get_json(self, path: str, model: type[M] | Any, **kwargs: Any) -> M:
        with self._send("GET", path, **kwargs) as response:
            return wire.decode(model, response.content, what=f"GET {path}")  # type: ignore[no-any-return]

    def _send(self, method: str, path: str, *, check: BodyCheck = _error_body, **kwargs: Any) -> requests.Response:
        """One call with the account's token through the one error table (a 401 costs one new token
        and one repeat)."""
        return self._session.call(method, self._base + path, peer=self._peer, what=f"{method} {path}",
                                  table=POS_TABLE, check=check, auth=self._tokens, **kwargs)


class MultipartBody:
    """A ``multipart/form-data`` body read lazily from open files (constant memory).

    Rewindable (``seek(0)``) so a retried request sends it again from the start, and sized
    (``len``) so requests sends ``Content-Length`` instead of chunked encoding.
    """

    def __init__(self, answer_json: bytes, files: Sequence[tuple[str, IO[bytes], str]]) -> None:
        self.boundary = uuid.uuid4().hex
        self.content_type = f"multipart/form-data; boundary={self.boundary}"
        b = self.boundary.encode()
        segments: list[bytes | tuple[IO[bytes], int]] = [
            b"--" + b + b"\r\n"
            + f'Content-Disposition: form-data; name="{wire.PART_ANSWER}"\r\n'.encode()
            + b"Content-Type: application/json; charset=utf-8\r\n\r\n" + answer_json + b"\r\n"
        ]
        for name, fh, mime in files:
            fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in name) or "file"
            mime = re.sub(r"[^\w.+/-]", "", mime) or "application/octet-stream"
            segments.append(
                b"--" + b + b"\r\n"
                + (f'Content-Disposition: form-data; name="{wire.PART_FILES}"; filename="{fallback}"; '
                   f"filename*=UTF-8''{quote(name, safe='')}\r\n").encode()
                + f"Content-Type: {mime}\r\n\r\n".encode()
            )
            segments.append((fh, os.fstat(fh.fileno()).st_size))
            segments.append(b"\r\n")
        segments.append(b"--" + b + b"--\r\n")
        self._segments = segments
        self._length = sum(len(s) if isinstance(s, bytes) else s[1] for s in segments)
        self.seek(0)

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(1 << 16):
            yield chunk

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        if (offset, whence) != (0, 0):
            raise OSError("MultipartBody can only be rewound to the start")
        self._index, self._offset, self._pos = 0, 0, 0
        for segment in self._segments:
            if not isinstance(segment, bytes):
                segment[0].seek(0)
        return 0

    def read(self, size: int = -1) -> bytes:
        out = bytearray()
        while self._index < len(self._segments) and (size < 0 or len(out) < size):
            segment = self._segments[self._index]
            want = -1 if size < 0 else size - len(out)
            if isinstance(segment, bytes):
                piece = segment[self._offset:] if want < 0 else segment[self._offset:self._offset + want]
            else:
                fh, total = segment
                left = total - self._offset
                piece = fh.read(left if want < 0 else min(want, left))
                if not piece and left > 0:
                    raise OSError(_("an answer file shrank while it was being sent"))
            self._offset += len(piece)
            out += piece
            seg_len = len(segment) if isinstance(segment, bytes) else segment[1]
            if self._offset >= seg_len:
                self._index, self._offset = self._index + 1, 0
        self._pos += len(out)
        return bytes(out)
