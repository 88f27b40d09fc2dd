"""The Directum simulator's ``$filter``: ``path eq|ne literal`` (and ``ge|le|gt|lt`` on dates) joined by ``and``, parentheses, navigation
paths and ``<collection>/any(x: …)`` lambdas, evaluated over :class:`DirectumState`.  What it does not
understand -- an unknown property above all -- is a 400, as on a real OData server."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from connector.edms_adapters.directum_rx import wire
from connector.simulators.directum.state import ODataError

if TYPE_CHECKING:
    from connector.simulators.directum.state import DirectumState

_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')"
                    r"|(?P<dto>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2}))"
                    r"|(?P<num>-?\d+)\b|(?P<word>[A-Za-z_][\w/]*)|(?P<p>[():]))")
#: comparison operators on Edm.DateTimeOffset values (list_appeals: RegistrationDate ge … and … le …)
_ORDERED = {"ge": lambda a, b: a >= b, "le": lambda a, b: a <= b, "gt": lambda a, b: a > b,
            "lt": lambda a, b: a < b}
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
    parser = _Parser(_tokens(text), state, ignore_lambdas)
    predicate = parser.expr(set_name, None)
    if parser.pos != len(parser.tokens):
        raise ODataError(400, f"Лишние символы в $filter: {parser.tokens[parser.pos][1]!r}.")
    return predicate


_LITERAL_WORDS: dict[str, Any] = {"true": True, "false": False, "null": None}


class _Parser:
    """Recursive descent over the tokens: ``expr := term (and term)*``."""

    def __init__(self, tokens: list[tuple[str, str]], state: DirectumState, ignore_lambdas: bool) -> None:
        self.tokens, self.state, self.ignore_lambdas = tokens, state, ignore_lambdas
        self.pos = 0

    def take(self) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise ODataError(400, "Неожиданный конец выражения $filter.")
        self.pos += 1
        return self.tokens[self.pos - 1]

    def close(self) -> None:
        if self.take() != ("p", ")"):
            raise ODataError(400, "В $filter не хватает закрывающей скобки.")

    def expr(self, scope: str, variable: str | None) -> Predicate:
        parts = [self.term(scope, variable)]
        while self.pos < len(self.tokens) and self.tokens[self.pos] == ("word", "and"):
            self.take()
            parts.append(self.term(scope, variable))
        return lambda entity: all(p(entity) for p in parts)

    def lambda_any(self, scope: str, collection: str) -> Predicate:
        """``collection/any(x: <expr over x>)`` on the entities of ``scope``."""
        state = self.state
        child_set = state.collection_set(scope, collection)
        if child_set is None:
            raise ODataError(400, f"Could not find a property named '{collection}' on type '{scope[1:]}'.")
        if self.take() != ("p", "("):
            raise ODataError(400, "После any ожидалась открывающая скобка.")
        var_kind, var = self.take()
        if var_kind != "word" or "/" in var or self.take() != ("p", ":"):
            raise ODataError(400, "В any ожидалось «переменная: условие».")
        inner = self.expr(child_set, var)
        self.close()
        if self.ignore_lambdas:
            return lambda entity: True
        return lambda entity: any(inner(row) for row in state.rows(scope, int(entity[wire.P_ID]), collection))

    def term(self, scope: str, variable: str | None) -> Predicate:
        kind, value = self.take()
        if kind == "p" and value == "(":
            inner = self.expr(scope, variable)
            self.close()
            return inner
        if kind != "word":
            raise ODataError(400, f"В $filter ожидалось имя свойства, получено {value!r}.")
        path = value.split("/")
        if variable is not None:
            if path[0] != variable or len(path) < 2:
                raise ODataError(400, f"В any ожидалось {variable}/<свойство>, получено {value!r}.")
            path = path[1:]
        if len(path) == 2 and path[1].lower() == "any":
            return self.lambda_any(scope, path[0])
        self.state.check_path(scope, path)
        _, op = self.take()
        if op in _ORDERED:
            return self.ordered(scope, path, op)
        if op not in ("eq", "ne"):
            raise ODataError(400, f"Оператор {op!r} в $filter не поддерживается.")
        return self.comparison(scope, variable, path, op == "eq", self.literal())

    def literal(self) -> Any:
        kind, lit = self.take()
        if kind == "str":
            return lit[1:-1].replace("''", "'")
        if kind == "num":
            return int(lit)
        if lit in _LITERAL_WORDS:
            return _LITERAL_WORDS[lit]
        raise ODataError(400, f"В $filter ожидалось значение, получено {lit!r}.")

    def comparison(self, scope: str, variable: str | None, path: list[str], equal: bool,
                   expected: Any) -> Predicate:
        state = self.state

        def check(entity: dict[str, Any]) -> bool:
            hit = state.resolve(scope, entity, path) == expected or (
                variable is None and state.aliased(scope, path, expected, entity))
            return hit == equal

        return check

    def ordered(self, scope: str, path: list[str], op: str) -> Predicate:
        """``<path> ge|le|gt|lt <DateTimeOffset>``: compared as moments, as the service does."""
        lit_kind, lit = self.take()
        if lit_kind != "dto":
            raise ODataError(400, f"Оператор {op!r} в $filter поддерживается только для дат, получено {lit!r}.")
        bound = datetime.fromisoformat(lit.replace("Z", "+00:00"))
        state = self.state

        def check(entity: dict[str, Any]) -> bool:
            value = state.resolve(scope, entity, path)
            if not isinstance(value, str):
                return False
            return bool(_ORDERED[op](datetime.fromisoformat(value.replace("Z", "+00:00")), bound))

        return check
