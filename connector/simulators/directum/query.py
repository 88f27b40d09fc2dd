"""The Directum simulator's ``$filter``: ``path eq|ne literal`` joined by ``and``, parentheses, navigation
paths and ``<collection>/any(x: …)`` lambdas, evaluated over :class:`DirectumState`.  What it does not
understand -- an unknown property above all -- is a 400, as on a real OData server."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from connector.edms_adapters.directum_rx import wire
from connector.simulators.directum.state import ODataError

if TYPE_CHECKING:
    from connector.simulators.directum.state import DirectumState

_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+)\b|(?P<word>[A-Za-z_][\w/]*)|(?P<p>[():]))")
Predicate = Callable[[dict[str, Any]], bool]


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None:
            raise ODataError(400, f"Синтаксическая ошибка в $filter в позиции {pos}.")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


def parse_filter(text: str, state: DirectumState, set_name: str, ignore_lambdas: bool = False) -> Predicate:
    """A predicate for ``text``; supports what real clients send (``eq``, ``ne``, ``and``, parentheses,
    navigation paths ``Nav/Id``, ``Collection/any(x: x/Prop eq …)``); anything else -- an unknown property
    above all -- is a 400 like the real service's."""
    tokens = _tokens(text)
    pos = 0

    def take() -> tuple[str, str]:
        nonlocal pos
        if pos >= len(tokens):
            raise ODataError(400, "Неожиданный конец выражения $filter.")
        pos += 1
        return tokens[pos - 1]

    def lambda_any(scope: str, collection: str) -> Predicate:
        """``collection/any(x: <expr over x>)`` on the entities of ``scope``."""
        child_set = state.collection_set(scope, collection)
        if child_set is None:
            raise ODataError(400, f"Could not find a property named '{collection}' on type '{scope[1:]}'.")
        if take() != ("p", "("):
            raise ODataError(400, "После any ожидалась открывающая скобка.")
        var_kind, var = take()
        if var_kind != "word" or "/" in var or take() != ("p", ":"):
            raise ODataError(400, "В any ожидалось «переменная: условие».")
        inner = expr(child_set, var)
        if take() != ("p", ")"):
            raise ODataError(400, "В $filter не хватает закрывающей скобки.")
        if ignore_lambdas:
            return lambda entity: True
        return lambda entity: any(inner(row) for row in state.rows(scope, int(entity[wire.P_ID]), collection))

    def term(scope: str, variable: str | None) -> Predicate:
        kind, value = take()
        if kind == "p" and value == "(":
            inner = expr(scope, variable)
            if take() != ("p", ")"):
                raise ODataError(400, "В $filter не хватает закрывающей скобки.")
            return inner
        if kind != "word":
            raise ODataError(400, f"В $filter ожидалось имя свойства, получено {value!r}.")
        path = value.split("/")
        if variable is not None:
            if path[0] != variable or len(path) < 2:
                raise ODataError(400, f"В any ожидалось {variable}/<свойство>, получено {value!r}.")
            path = path[1:]
        if len(path) == 2 and path[1].lower() == "any":
            return lambda_any(scope, path[0])
        state.check_path(scope, path)
        op_kind, op = take()
        if op not in ("eq", "ne"):
            raise ODataError(400, f"Оператор {op!r} в $filter не поддерживается.")
        lit_kind, lit = take()
        expected: Any
        if lit_kind == "str":
            expected = lit[1:-1].replace("''", "'")
        elif lit_kind == "num":
            expected = int(lit)
        elif lit in ("true", "false", "null"):
            expected = {"true": True, "false": False, "null": None}[lit]
        else:
            raise ODataError(400, f"В $filter ожидалось значение, получено {lit!r}.")

        def check(entity: dict[str, Any]) -> bool:
            hit = state.resolve(scope, entity, path) == expected or (
                variable is None and state.aliased(scope, path, expected, entity))
            return hit == (op == "eq")

        return check

    def expr(scope: str, variable: str | None) -> Predicate:
        parts = [term(scope, variable)]
        while pos < len(tokens) and tokens[pos] == ("word", "and"):
            take()
            parts.append(term(scope, variable))
        return lambda entity: all(p(entity) for p in parts)

    predicate = expr(set_name, None)
    if pos != len(tokens):
        raise ODataError(400, f"Лишние символы в $filter: {tokens[pos][1]!r}.")
    return predicate
