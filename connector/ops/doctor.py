"""``connector doctor``: is this installation ready to run?  One row per check, worst result wins.

Checks the configuration's paths and their permissions, the database (reachable, schema at the
newest revision), every endpoint (POS login per account, EDMS health per target, ССТУ read-back),
the clock against POS's own and the body's zone, and free disk space.  Each check is a small
function returning :class:`Check`; none of them changes anything, so doctor is safe to run next
to a working daemon.
"""

from __future__ import annotations

import enum
import os
import shutil
import stat
import tomllib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import requests
from pydantic import BaseModel

from connector.config import Settings
from connector.errors import AuthError, ConnectorError, RemoteRejected
from connector.i18n import _
from connector.transport import RetryingSession, RetryPolicy, session_for

DISK_FAIL_BYTES = 100 * 1000 * 1000  # below this a day of attachments may not fit
DISK_WARN_BYTES = 1000 * 1000 * 1000
# One attempt with short waits: a check should answer in seconds, not retry for minutes.
_CHECK_POLICY = RetryPolicy(max_attempts=2, initial_wait=0.2, max_wait=1)


class Result(enum.StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


_RANK = {Result.OK: 0, Result.WARN: 1, Result.FAIL: 2}


class Check(BaseModel):
    name: str
    result: Result
    detail: str


class DoctorReport(BaseModel):
    config_file: str
    checks: list[Check]

    @property
    def worst(self) -> Result:
        return max((c.result for c in self.checks), key=_RANK.__getitem__, default=Result.OK)


def run_doctor(settings: Settings, config_file: Path, *, now: Callable[[], datetime] | None = None) -> DoctorReport:
    clock = now or (lambda: datetime.now(UTC))
    checks: list[Check] = []
    for probe in (_data_dir, _secret_files, _database, _disk):
        checks.extend(probe(settings, config_file))
    checks.extend(_pos(settings, clock))
    checks.extend(_edms(settings))
    checks.extend(_sstu(settings))
    checks.append(_zone(settings, clock))
    return DoctorReport(config_file=str(config_file), checks=checks)


def _session(settings: Settings, system: str) -> RetryingSession:
    return session_for(settings.http, _CHECK_POLICY, timeout=min(settings.http.timeout_seconds, 10.0), system=system)


def _mode_problem(path: Path, allowed: int) -> str | None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & ~allowed:
        return _("{path} is mode {mode:04o}: others can read it (chmod {allowed:04o})").format(
            path=path, mode=mode, allowed=allowed)
    return None


def _data_dir(settings: Settings, _config: Path) -> Iterator[Check]:
    data, name = settings.daemon.data_dir, _("data directory")
    if not data.exists():
        yield Check(name=name, result=Result.WARN,
                    detail=_("{path} does not exist yet (connector db upgrade or the first run creates it)")
                    .format(path=data))
        return
    if not data.is_dir():
        yield Check(name=name, result=Result.FAIL, detail=_("{path} is not a directory").format(path=data))
        return
    if not os.access(data, os.W_OK | os.X_OK):
        yield Check(name=name, result=Result.FAIL,
                    detail=_("{path} is not writable by this user (uid {uid})").format(path=data, uid=os.geteuid()))
        return
    problem = _mode_problem(data, 0o700)
    yield Check(name=name, result=Result.WARN if problem else Result.OK,
                detail=problem or _("{path} (mode 0700, writable)").format(path=data))


def _file_keys(node: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            where = f"{prefix}.{key}" if prefix else str(key)
            if key.endswith("_file") and isinstance(value, str) and value:
                yield where, value
            else:
                yield from _file_keys(value, where)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _file_keys(item, f"{prefix}.{index}")


def _secret_files(settings: Settings, config: Path) -> Iterator[Check]:
    """Every ``*_file`` the configuration names: present, and readable by the service alone."""
    try:
        raw = tomllib.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return  # the settings loaded from it a moment ago; nothing more to learn here
    for key, value in _file_keys(raw):
        path = Path(value) if Path(value).is_absolute() else config.parent / value
        if not path.is_file():
            yield Check(name=_("file {key}").format(key=key), result=Result.FAIL,
                        detail=_("{path} is missing").format(path=path))
            continue
        if key.endswith("bodies_file"):
            continue  # a directory of bodies, not a secret
        problem = _mode_problem(path, 0o640)
        yield Check(name=_("secret {key}").format(key=key), result=Result.WARN if problem else Result.OK,
                    detail=problem or _("{path} (not readable by others)").format(path=path))


def _database(settings: Settings, _config: Path) -> Iterator[Check]:
    from sqlalchemy.exc import DBAPIError

    from connector.store.db import (
        Store,
        current_revision,
        database_unavailable,
        describe_location,
        head_revision,
    )

    url = settings.daemon.resolved_database_url()
    where = describe_location(url)
    try:
        store = Store(url, migrate=False, create=False)
        try:
            revision, head = current_revision(store.engine), head_revision()
        finally:
            store.dispose()
    except ConnectorError as exc:
        yield Check(name=_("database"), result=Result.FAIL, detail=exc.shown)
        return
    except DBAPIError as exc:
        yield Check(name=_("database"), result=Result.FAIL, detail=database_unavailable(exc, url).shown)
        return
    if revision != head:
        yield Check(name=_("database"), result=Result.WARN,
                    detail=_("{where}: schema at {revision}, migrations up to {head} pending "
                             "(connector db upgrade; the daemon also applies them at start)").format(
                        where=where, revision=revision, head=head))
    else:
        yield Check(name=_("database"), result=Result.OK,
                    detail=_("{where}: schema at {revision} (newest)").format(where=where, revision=revision))


def _disk(settings: Settings, _config: Path) -> Iterator[Check]:
    path = settings.daemon.data_dir
    while not path.exists() and path != path.parent:
        path = path.parent
    free = shutil.disk_usage(path).free
    result = Result.FAIL if free < DISK_FAIL_BYTES else Result.WARN if free < DISK_WARN_BYTES else Result.OK
    yield Check(name=_("free disk"), result=result,
                detail=_("{gb:.1f} GB free under {path}").format(gb=free / 1e9, path=path))


def _server_times(times: list[datetime]) -> Callable[..., None]:
    """A response hook keeping each reply's ``Date``: POS's own clock."""
    def remember(response: requests.Response, *_args: Any, **_kwargs: Any) -> None:
        stamp = response.headers.get("Date")
        if stamp:
            try:
                times.append(parsedate_to_datetime(stamp))
            except (TypeError, ValueError):
                pass
    return remember


def _pos(settings: Settings, clock: Callable[[], datetime]) -> Iterator[Check]:
    from connector.pos_client.auth import TokenManager

    allowance = settings.pull.clock_allowance_seconds
    for account in settings.accounts:
        session = _session(settings, f"POS {account.name}")
        server_times: list[datetime] = []
        session.hooks["response"].append(_server_times(server_times))
        try:
            TokenManager(account, session).refresh()
            yield Check(name=_("POS {account}").format(account=account.name), result=Result.OK,
                        detail=_("{url}: login accepted").format(url=account.pos_base_url))
        except ConnectorError as exc:
            yield Check(name=_("POS {account}").format(account=account.name), result=Result.FAIL, detail=exc.shown)
        finally:
            session.close()
        if server_times:
            skew = (clock() - server_times[-1]).total_seconds()
            result = Result.WARN if abs(skew) > allowance else Result.OK
            yield Check(name=_("clock vs POS {account}").format(account=account.name), result=result,
                        detail=_("ours is {skew:+.0f} s from POS's (allowance {allowance} s)").format(
                            skew=skew, allowance=allowance))


def _edms(settings: Settings) -> Iterator[Check]:
    from connector.ops.edms_check import check_edms

    for item in check_edms(settings):
        yield Check(name=_("EDMS {target}").format(target=item.target), result=Result.OK if item.ok else Result.FAIL,
                    detail=_("{adapter}: healthy").format(adapter=item.adapter) if item.ok else item.problem)


def _sstu(settings: Settings) -> Iterator[Check]:
    from connector.sstu_export.client import SstuClient

    sstu = settings.sstu
    if not sstu.base_url:
        yield Check(name="ССТУ", result=Result.OK,
                    detail=_("no HTTP route configured") + (
                        _("; archives to {path}").format(path=sstu.archive_dir) if sstu.archive_dir else ""))
        return
    session = _session(settings, "ССТУ")
    client = SstuClient(sstu.base_url, session)
    departments = sorted({settings.sstu_department(a.name) for a in settings.accounts} - {""})
    try:
        for department in departments or [sstu.department_id]:
            held = client.read_back(department)
            yield Check(name=f"ССТУ {department}", result=Result.OK,
                        detail=_("{url}: read-back lists {count} appeal(s)").format(url=sstu.base_url,
                                                                                    count=len(held)))
    except (AuthError, RemoteRejected) as exc:
        yield Check(name="ССТУ", result=Result.WARN,
                    detail=_("reachable, but: {problem}").format(problem=exc.operator_message))
    except ConnectorError as exc:
        yield Check(name="ССТУ", result=Result.FAIL, detail=exc.shown)
    finally:
        session.close()


def _zone(settings: Settings, clock: Callable[[], datetime]) -> Check:
    zone = settings.sstu.zone
    local = clock().astimezone(zone)
    return Check(name=_("time zone"), result=Result.OK,
                 detail=_("{zone}: now {now:%Y-%m-%d %H:%M %Z} (UTC{now:%z}); the body's dates are taken on "
                          "this calendar").format(zone=settings.sstu.timezone, now=local))
