"""No English sentence is written for a person without going through the catalog: a static scan of
the sources for texts handed straight to the places a person reads -- an error raised, a line
echoed, a CLI failure, a validation problem -- that are not marked with ``_()`` / ``ngettext()``.

What it cannot see (a text built in one function and raised in another) the catalog test and the
Russian-mode tests of each command cover; this one catches the common slip: a new
``raise ...Error(f"...")`` in English."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "connector"
SKIP_PARTS = {"simulators"}  # test doubles: what they say is never shown to an operator
# Sinks: the first argument of these calls is what a person reads.
SINKS = {"echo", "secho", "fail", "add", "Problem", "Finding", "UsageError", "ClickException", "BadParameter"}
# The reason a failure is stored with: what `connector failures list` shows.
REASON_SINKS = {"dead_letter"}
MARKERS = {"_", "ngettext", "N_", "gettext"}
# A bug's own words: raised where the code itself is wrong, recorded as "internal error (…); see the
# log" and read by a developer, so they stay English.
BUG_EXCEPTIONS = {"AttributeError", "TypeError", "RuntimeError", "AssertionError", "NotImplementedError"}
DEVELOPER_TEXTS = {
    ("pipeline/lifecycle.py", "message "),                  # a transition the table forbids
    ("store/types.py", "naive datetime"),                   # a timezone-naive value handed to the store
    ("pos_client/client.py", "MultipartBody can only"),     # a request body rewound to the middle
    ("pos_client/client.py", "updated_since must be"),      # a naive watermark handed to the client
    ("edms_adapters/onec_dm/wire.py", "envelope has no"),   # a SOAP template without its placeholder
    ("edms_adapters/directum_rx/wire.py", "not an OData"),  # a property path constant of the code
    ("sstu_export/builder.py", "give exactly one"),         # a file given both as content and as path
    ("sstu_export/archive.py", "max_part_bytes must"),      # settings validate the value before it gets here
}
ENGLISH = re.compile(r"\b[A-Za-z]{2,}\b(?:[^A-Za-z]+\b[A-Za-z]{2,}\b){2,}")  # three or more words
CYRILLIC = re.compile("[А-Яа-яЁё]")


def _name(func: ast.expr) -> str:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _literal_text(node: ast.expr) -> str:
    """The constant text of a string literal or f-string (its formatted parts left out)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return " ".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _literal_text(node.left) + " " + _literal_text(node.right)
    return ""


def _is_error(func: ast.expr) -> bool:
    name = _name(func)
    return name.endswith(("Error", "Exception", "Refused", "Unavailable")) and name not in MARKERS


def _unmarked(path: Path, root: Path = PACKAGE) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        call = None
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and _is_error(node.exc.func) \
                and _name(node.exc.func) not in BUG_EXCEPTIONS:
            call = node.exc
        elif isinstance(node, ast.Call) and _name(node.func) in SINKS | REASON_SINKS:
            call = node
        if call is None:
            continue
        reasons = [k.value for k in call.keywords if k.arg == "reason"] if _name(call.func) in REASON_SINKS else []
        for arg in [*call.args, *reasons]:
            text = _literal_text(arg)
            rel = path.relative_to(root).as_posix()
            if any(rel == f and text.startswith(t) for f, t in DEVELOPER_TEXTS):
                continue
            if text and ENGLISH.search(text) and not CYRILLIC.search(text):
                found.append(f"{path.relative_to(root.parent)}:{arg.lineno}: {text[:60]!r}")
    return found


def _taxonomy_errors(files: list[Path]) -> set[str]:
    """The names of :class:`connector.errors.ConnectorError` and its subclasses, wherever defined."""
    classes = [node for path in files for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
               if isinstance(node, ast.ClassDef)]
    names = {"ConnectorError"}
    while grown := {c.name for c in classes if c.name not in names and any(_name(b) in names for b in c.bases)}:
        names |= grown
    return names


def _translated_now(node: ast.expr) -> bool:
    """``_("…")``, ``_("…").format(…)`` or a sum with one of them: a text already in the process language."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return _translated_now(node.func.value)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _translated_now(node.left) or _translated_now(node.right)
    return isinstance(node, ast.Call) and _name(node.func) in MARKERS - {"N_"}


def _translated_at_raise(path: Path, errors: set[str], root: Path = PACKAGE) -> list[str]:
    """A taxonomy error handed a text translated where it is raised: its log line would not be English and
    its ``shown`` could not translate it (the N_() template and its ``params`` do both)."""
    return [f"{path.relative_to(root.parent)}:{node.lineno}: {_name(node.exc.func)}"
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and _name(node.exc.func) in errors
            and node.exc.args and _translated_now(node.exc.args[0])]


def test_a_taxonomy_error_gets_its_template_not_a_translated_text() -> None:
    files = [p for p in sorted(PACKAGE.rglob("*.py")) if not SKIP_PARTS & set(p.relative_to(PACKAGE).parts)]
    errors = _taxonomy_errors(files)
    assert {"DataError", "ArchiveError", "UsageError", "BackupError"} <= errors
    translated = [line for path in files for line in _translated_at_raise(path, errors)]
    assert not translated, ("raise X(N_(\"…\"), params={…}) instead of X(_(\"…\").format(…)):\n"
                            + "\n".join(translated))


def test_the_scan_finds_a_taxonomy_error_translated_at_raise(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('class ConnectorError(Exception): ...\nclass DataError(ConnectorError): ...\n'
                      'class BadFile(DataError): ...\n'
                      'def f(x):\n    raise BadFile(_("the file {x} cannot be read").format(x=x))\n'
                      'def g(x):\n    raise BadFile(N_("the file {x} cannot be read"), params={"x": x})\n'
                      'def h(x):\n    raise ValueError(_("the file {x} cannot be read").format(x=x))\n'
                      'def i(x):\n    raise DataError(_("appeal {x}: ").format(x=x) + x)\n', encoding="utf-8")
    errors = _taxonomy_errors([sample])
    assert errors == {"ConnectorError", "DataError", "BadFile"}
    assert [line.split(":")[1] for line in _translated_at_raise(sample, errors, tmp_path)] == ["5", "11"]


def test_no_unmarked_english_text_reaches_a_person() -> None:
    files = [p for p in sorted(PACKAGE.rglob("*.py")) if not SKIP_PARTS & set(p.relative_to(PACKAGE).parts)]
    unmarked = [line for path in files for line in _unmarked(path)]
    assert not unmarked, "English texts not marked for translation:\n" + "\n".join(unmarked)


def test_the_scan_finds_an_unmarked_raise(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('def f(x):\n    raise ConfigError(f"the file {x} cannot be read")\n'
                      'def g(x):\n    raise ConfigError(_("the file {x} cannot be read").format(x=x))\n',
                      encoding="utf-8")
    assert [line.split(":")[1] for line in _unmarked(sample, tmp_path)] == ["2"]
