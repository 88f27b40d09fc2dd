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
