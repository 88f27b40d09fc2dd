"""``connector sstu validate PATH``: check a JSON file, a directory or a zip archive.

Any tool's output is accepted as input, hostile input included: every problem becomes a
:class:`Finding` (file, appeal number, question, field, message), never a traceback.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Container, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from connector.errors import DataError
from connector.i18n import N_, _
from connector.safe_archive import ArchiveError, ZipLimits
from connector.sstu_export.archive import DEFAULT_LIMITS, MANIFEST_SUFFIX, read_members
from connector.sstu_export.validate import ERROR, Issue, question_codes, validate_document

MAX_JSON_FILE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Finding:
    source: str
    issue: Issue

    def __str__(self) -> str:
        return f"{self.source}: {self.issue}"

    @property
    def is_error(self) -> bool:
        return self.issue.severity == ERROR

    def as_dict(self) -> dict[str, Any]:
        issue = self.issue.as_dict()
        issue.pop("severity")  # the list it is in says it
        return {"file": self.source, **issue}


@dataclass
class CheckReport:
    path: str
    files: int = 0
    archives: int = 0
    appeals: int = 0
    skipped: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        """What the portal would refuse."""
        return [f for f in self.findings if f.is_error]

    @property
    def warnings(self) -> list[Finding]:
        """Our own stricter policy: public senders send it and the portal takes it."""
        return [f for f in self.findings if not f.is_error]

    @property
    def ok(self) -> bool:
        return not self.errors and (self.appeals > 0)

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "ok": self.ok, "files": self.files, "archives": self.archives,
                "appeals": self.appeals, "skipped": self.skipped, "errors": [f.as_dict() for f in self.errors],
                "warnings": [f.as_dict() for f in self.warnings]}


def _file_problem(source: str, message: str) -> Finding:
    return Finding(source, Issue(None, None, "<file>", message))


def _parse(data: bytes) -> Any:
    return json.loads(data.decode("utf-8-sig"))


class _Checker:
    def __init__(self, report: CheckReport, today: date | None, codes: Container[str] | None) -> None:
        self.report, self.today, self.codes = report, today, codes

    def document(self, source: str, data: bytes) -> None:
        self.report.files += 1
        try:
            doc = _parse(data)
        except UnicodeDecodeError:
            self.report.findings.append(_file_problem(source, _("not UTF-8 text")))
            return
        except (ValueError, RecursionError) as exc:
            self.report.findings.append(_file_problem(source, _("not valid JSON ({error})").format(
                    error=f"{type(exc).__name__}: {str(exc)[:120]}")))
            return
        self.report.appeals += len(doc) if isinstance(doc, list) else 1
        for issue in validate_document(doc, today=self.today, codes=self.codes):
            self.report.findings.append(Finding(source, issue))

    def json_file(self, path: Path, label: str) -> None:
        try:
            size = path.stat().st_size
            if size > MAX_JSON_FILE_BYTES:
                self.report.findings.append(_file_problem(label, _("{size:,} bytes: too large for one appeal").format(size=size)))
                return
            data = path.read_bytes()
        except OSError as exc:
            self.report.findings.append(_file_problem(label, _("cannot be read ({error})").format(error=exc.strerror)))
            return
        self.document(label, data)

    def archive(self, path: Path, label: str, limits: ZipLimits) -> None:
        self.report.archives += 1
        try:
            for member in read_members(path, limits):
                source = f"{label}!{member.name}"
                if member.data is None:
                    self.report.findings.append(_file_problem(source, member.problem or _("refused")))
                else:
                    self.document(source, member.data)
        except ArchiveError as exc:
            self.report.findings.append(_file_problem(label, exc.operator_message))


def _walk(root: Path) -> Iterator[Path]:
    """Regular files under ``root``, sorted, never following symlinks."""
    stack = [root]
    while stack:
        current = stack.pop()
        try:
            entries = sorted(current.iterdir(), reverse=True)
        except OSError:
            continue
        for entry in entries:
            if entry.is_symlink():
                continue
            if entry.is_dir():
                stack.append(entry)
            elif entry.is_file():
                yield entry


def check_path(path: Path, *, codes: Container[str] | None = None, today: date | None = None,
               limits: ZipLimits = DEFAULT_LIMITS) -> CheckReport:
    report = CheckReport(path=str(path))
    checker = _Checker(report, today, codes)
    if path.is_dir():
        for file in sorted(_walk(path)):
            label = str(file.relative_to(path))
            suffix = file.suffix.lower()
            if suffix == ".json":
                checker.json_file(file, label)
            elif suffix == ".zip":
                checker.archive(file, label, limits)
            elif file.name.endswith(MANIFEST_SUFFIX):
                continue  # our manifest beside its part: no appeal, nothing to skip
            else:
                report.skipped += 1
    elif path.suffix.lower() == ".zip" or _is_zip(path):
        checker.archive(path, path.name, limits)
    else:
        checker.json_file(path, path.name)
    if report.appeals == 0 and not report.findings:
        report.findings.append(_file_problem(str(path), _("no appeal found (expected JSON files or zip archives)")))
    return report


def _is_zip(path: Path) -> bool:
    try:
        return zipfile.is_zipfile(path)
    except OSError:
        return False


def load_codes(path: Path) -> frozenset[str]:
    """Question-level codes from a classifier tree JSON, a JSON list, or one code per line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(N_("{path}: cannot read the classifier codes ({error})"),
                        params={"path": path, "error": exc}) from None
    try:
        doc: Any = json.loads(text)
    except (ValueError, RecursionError):
        doc = [line.strip() for line in text.splitlines() if line.strip()]
    codes = question_codes(doc)
    if not codes:
        raise DataError(N_("{path}: no question-level classifier code found"), params={"path": path})
    return codes
