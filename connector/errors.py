"""One exception module, grouped by what the daemon does next.

Every error carries ``operator_message`` (safe to print: no secrets, no personal data)
and optional ``detail`` for developers.  The runner decides by class, never by text:

* :class:`ConfigError`      -- stop start-up, name the key;
* :class:`TransientError`   -- retry the item later (network, 5xx, 429, timeouts);
* :class:`AuthError`        -- credentials rejected: the whole account/adapter stops this run;
* :class:`FatalAdapterError`-- this adapter/run cannot go on (misconfiguration seen at run time);
* :class:`SkippableItemError` -- quarantine this one item, go on with the rest;
* :class:`DataError`        -- input data does not satisfy our rules (bad file, mapping gap).

:class:`ForeignCardError` is the one item error that goes to failures at once: no retry can make
another message's card ours.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from connector.i18n import N_, _
from connector.logs import redact_secrets


@dataclass(frozen=True)
class Phrase:
    """A part of an error text that has values of its own ("POS account 'demo'", a peer's name
    built once and used in many errors): its ``template`` is marked with N_() where it is written.
    As a value in :class:`ConnectorError`'s ``params`` it is English in ``operator_message`` (the
    logs) and translated in :attr:`ConnectorError.shown`."""

    template: str
    params: Mapping[str, object] | None = field(default_factory=dict)  # None: a finished text, not a template

    def english(self) -> str:
        return self.template if self.params is None else self.template.format(**_values(self.params, shown=False))

    def shown(self) -> str:
        if not self.template:  # gettext("") is the catalog's header
            return ""
        if self.params is None:
            return _(self.template)
        return _(self.template).format(**_values(self.params, shown=True))


def _value(value: object, *, shown: bool) -> object:
    # numbers and dates stay what they are, so a template can format them ("{size:,} bytes", "{day:%d.%m.%Y}");
    # they carry no secret. Everything else (a path, a peer's reply) is text that may, and is masked.
    if isinstance(value, (bool, int, float, Decimal, date)):
        return value
    if isinstance(value, Phrase):
        return redact_secrets(value.shown() if shown else value.english())
    return redact_secrets(str(value))


def _values(params: Mapping[str, object], *, shown: bool) -> dict[str, object]:
    return {k: _value(v, shown=shown) for k, v in params.items()}


class ConnectorError(Exception):
    """Base class. ``str(exc)`` is the operator message.  Both texts are masked on the way in
    (configured secrets, URL passwords): an adapter that names its endpoint in an error cannot
    put a credential in a log line, a stored failure, an alert or a terminal."""

    def __init__(self, operator_message: str, *, detail: str | None = None,
                 params: Mapping[str, object] | None = None) -> None:
        # operator_message is an English text or template marked with N_(), its values in ``params``: the
        # logs get the English text, :attr:`shown` the text translated into the language of the process
        # (the terminal, or the stored failure reason an operator reads)
        self._template = operator_message
        self._params = None if params is None else dict(params)
        operator_message = redact_secrets(operator_message.format(**_values(params, shown=False))
                                          if params is not None else operator_message)
        super().__init__(operator_message)
        self.operator_message = operator_message
        self.detail = redact_secrets(detail) if detail is not None else None

    def phrase(self) -> Phrase:
        """This error as a value in another error's ``params`` (one that adds where it happened): English in
        that one's log text, translated in its shown text."""
        if not self._template:
            return Phrase(self.operator_message, None)
        return Phrase(self._template, self._params)

    @property
    def shown(self) -> str:
        """The operator message in the current language (English, and so the logs, unless translated);
        a text built before it got here (no catalog entry) is shown as it is."""
        if not self._template:  # gettext("") is the catalog's header
            return self.operator_message
        if self._params is None:
            return redact_secrets(_(self._template))
        return redact_secrets(_(self._template).format(**_values(self._params, shown=True)))


class ConfigError(ConnectorError):
    """Configuration is invalid; ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str], *, source: str | None = None) -> None:
        self.problems = problems
        self.source = source
        head = _("invalid configuration in {source}").format(source=source) if source else _("invalid configuration")
        super().__init__(head + ": " + "; ".join(problems))


class TransientError(ConnectorError):
    """Worth retrying later: the remote side or the network failed, not our data."""


class AuthError(ConnectorError):
    """Credentials were rejected (401/403 after one token refresh)."""


class FatalAdapterError(ConnectorError):
    """The adapter cannot work at all in this run (wrong endpoint, protocol mismatch)."""


class LocalStorageError(ConnectorError):
    """Our own disk refused a write (full, read-only, over quota).  Nothing is wrong with the
    item, so it must not burn its attempts: the job stops and resumes once there is space."""


class SkippableItemError(ConnectorError):
    """This item cannot be processed; quarantine it and continue with the others."""


class RemoteRejected(SkippableItemError):
    """The remote system refused the request for this item (4xx other than auth)."""

    def __init__(self, operator_message: str, *, status: int | None = None, code: str | None = None,
                 detail: str | None = None, params: Mapping[str, object] | None = None) -> None:
        super().__init__(operator_message, detail=detail, params=params)
        self.status = status
        self.code = code


class IntegrityError(SkippableItemError):
    """Received content failed verification (size or checksum mismatch)."""


class ForeignCardError(IntegrityError):
    """The EDMS holds, under the id we derive for this message, a card that carries another POS id
    (a restored backup, a copied base, an edited card).  Linking it would answer this message with
    the other's answer; creating one would make a second card under the same id.  Neither is done."""

    def __init__(self, *, system: str, card_id: str, owner_pos_id: str, pos_id: str) -> None:
        text = (N_("{system} card {card_id} belongs to POS message {owner}, not to POS message {pos_id}: "
                   "not linked, no second card created") if owner_pos_id else
                N_("{system} card {card_id} belongs to no POS message (it carries no POS id), not to POS message "
                   "{pos_id}: not linked, no second card created"))
        super().__init__(text, params={"system": system, "card_id": card_id, "owner": owner_pos_id,
                                       "pos_id": pos_id},
                         detail="check the card in the EDMS (restored backup, copied base, edited card); "
                                "once it is put right, `connector failures retry` registers the message")
        self.system = system
        self.card_id = card_id
        self.owner_pos_id = owner_pos_id
        self.pos_id = pos_id


class DataError(ConnectorError):
    """Input data violates our rules (bad spreadsheet, validation gap)."""


class UsageError(ConnectorError):
    """The command or the configuration asks for something that cannot work as given (an
    unsupported database URL, a driver not installed, a store that does not exist): exit 2."""


class DatabaseUnavailable(TransientError):
    """The state store cannot be reached (server down, network, file not openable): the work
    waits; nothing is lost because every step (an item, or a job's batch) commits its own
    transaction."""
