"""The small typed interface every EDMS adapter implements (architecture §3.3)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from connector.domain import (
    Answer,
    CardRef,
    CardStage,
    CardState,
    ControlTaskRequest,
    EdmsAppeal,
    PosMessage,
    TaskRef,
)
from connector.errors import FatalAdapterError, ForeignCardError
from connector.i18n import N_
from connector.settings_base import StrictModel

if TYPE_CHECKING:  # the settings (AdapterSettings) are loaded with the configuration, without requests
    from connector.transport import RetryingSession


class AdapterSettings(StrictModel):
    """Base of an adapter's settings model: the ``[edms.<name>]`` table, ``type`` included.

    Unknown keys are errors and ``<secret>_file`` keys fill SecretStr fields, as everywhere."""

    type: str


@dataclass(frozen=True)
class AdapterContext:
    """What the daemon hands every adapter: how to make its HTTP session (one per adapter, kept for
    its life: the connection to the EDMS is reused), where data lives."""

    target_name: str
    session_factory: Callable[[], RetryingSession]
    data_dir: Path
    answer_days: int = 30
    # The body's zone (`[sstu] timezone`): a date the adapter stamps itself is the body's date, not UTC's.
    zone: tzinfo = field(default_factory=lambda: ZoneInfo("Europe/Moscow"))
    extra: dict[str, object] = field(default_factory=dict)


@runtime_checkable
class EdmsAdapter(Protocol):
    name: ClassVar[str]
    settings_model: ClassVar[type[AdapterSettings]]

    def create_card(self, msg: PosMessage) -> CardRef:
        """Register ``msg``; finds an existing card by the POS id first, so it never duplicates.
        A card found rather than created is linked only after :func:`prove_card_owner`."""
        ...

    def get_card(self, ref: CardRef) -> CardState:
        """Registration number/date, executors, deadline, stage, resolution."""
        ...

    def fetch_answer(self, ref: CardRef) -> Answer | None:
        """The signed answer (text, signer, date, files) once the card is answered."""
        ...

    def health(self) -> None:
        """Raise a ConnectorError with a clear reason when the EDMS cannot be used."""
        ...

    def close(self) -> None:
        ...


@runtime_checkable
class CardReader(Protocol):
    """An adapter that can read a card and its answer in one pass, without asking its EDMS twice
    for what both need (1С: the document and the answer).  Optional: :func:`read_card` falls back
    to ``get_card`` then ``fetch_answer``."""

    def read_card(self, ref: CardRef) -> tuple[CardState, Answer | None]:
        """The card's state, and its answer when the state is ``ANSWER_READY``."""
        ...


def read_card(adapter: EdmsAdapter, ref: CardRef) -> tuple[CardState, Answer | None]:
    """What ``track`` needs of one card, each EDMS call made once."""
    if isinstance(adapter, CardReader):
        return adapter.read_card(ref)
    state = adapter.get_card(ref)
    return state, adapter.fetch_answer(ref) if state.stage == CardStage.ANSWER_READY else None


@runtime_checkable
class ControlTaskCapable(Protocol):
    """The optional capability of opening a control task for the curator on a card (the rating loop).

    Idempotent by ``task.key``: a second call with the same key returns the first task.  An adapter
    without it still gets the notice e-mail; the task is recorded as unsupported."""

    def create_control_task(self, ref: CardRef, task: ControlTaskRequest) -> TaskRef:
        ...


def supports_control_tasks(adapter: object) -> bool:
    """The adapter declares capability ``create_control_task`` (see below), has the operation, and its target
    has it switched on (``control_tasks_enabled``, when the adapter has such a setting)."""
    return (CREATE_CONTROL_TASK in frozenset(getattr(adapter, "capabilities", frozenset()))
            and isinstance(adapter, ControlTaskCapable) and _enabled(adapter, CREATE_CONTROL_TASK))


AdapterFactory = Callable[[AdapterSettings, AdapterContext], EdmsAdapter]


def prove_card_owner(msg: PosMessage, *, system: str, card_id: str, owner_pos_id: object) -> None:
    """The identity rule of every adapter: a card found under the id we derive for ``msg`` (rather than
    just created) is linked only if the POS id it carries -- ``owner_pos_id``, read from the card
    itself (1С ``externalObject``, the Directum POS-id property, …) -- is ``msg``'s.  Anything else,
    including no POS id at all, raises :class:`ForeignCardError` naming the card, its owner and ``msg``."""
    owner = "" if owner_pos_id is None else str(owner_pos_id).strip()
    if owner != msg.pos_id:
        raise ForeignCardError(system=system, card_id=card_id, owner_pos_id=owner, pos_id=msg.pos_id)


# --- optional capabilities ---------------------------------------------------------------------------
#
# An adapter declares what it can do beyond the four calls above in ``capabilities`` (a frozenset of the
# names below) and, for a capability its EDMS cannot offer, says why in ``unsupported`` (name → reason).
# Callers ask :func:`capabilities_of` / :func:`appeal_lister`, never ``hasattr``.

LIST_APPEALS = "list_appeals"
CREATE_CONTROL_TASK = "create_control_task"
#: every optional capability and what it gives (``connector edms check`` lists them all)
OPTIONAL_CAPABILITIES: Mapping[str, str] = {
    LIST_APPEALS: "appeal cards of every channel (letters, reception, forwarded) for ССТУ and the showcase",
    CREATE_CONTROL_TASK: "a control task for the curator on the original card (the rating loop: a low rating "
                         "or a repeat appeal)",
}


@runtime_checkable
class AppealLister(Protocol):
    """Capability ``list_appeals``: the EDMS's appeal cards of any origin registered in a date range."""

    def list_appeals(self, since: date, until: date) -> Iterator[EdmsAppeal]:
        """Appeal cards registered from ``since`` to ``until`` (both included, the body's dates), each with
        its questions; a card of a POS message carries its POS id."""
        ...

    def appeals_enabled(self) -> bool:
        """Whether the target's settings switch the listing on (an installation opts in)."""
        ...


class UnsupportedCapability(FatalAdapterError):
    """The adapter does not offer a capability; the message says why."""


def capabilities_of(adapter: object) -> dict[str, str]:
    """Capability name → ``"yes"`` / ``"off"`` (offered, switched off in settings) / ``"no: <reason>"``."""
    declared = frozenset(getattr(adapter, "capabilities", frozenset()))
    reasons = dict(getattr(adapter, "unsupported", {}))
    result = {}
    for name in OPTIONAL_CAPABILITIES:
        if name in declared:
            result[name] = "yes" if _enabled(adapter, name) else "off"
        else:
            result[name] = f"no: {reasons.get(name, 'not offered by this adapter')}"
    return result


def _enabled(adapter: object, name: str) -> bool:
    if name == CREATE_CONTROL_TASK:  # a property where the target can switch it off (Directum's task type)
        return bool(getattr(adapter, "control_tasks_enabled", True))
    check = getattr(adapter, "appeals_enabled", None) if name == LIST_APPEALS else None
    return bool(check()) if callable(check) else True


def appeal_lister(adapter: object) -> AppealLister:
    """The adapter as an :class:`AppealLister`, or :class:`UnsupportedCapability` naming why not."""
    name = getattr(adapter, "name", type(adapter).__name__)
    if LIST_APPEALS not in frozenset(getattr(adapter, "capabilities", frozenset())) \
            or not isinstance(adapter, AppealLister):
        reason = dict(getattr(adapter, "unsupported", {})).get(LIST_APPEALS, "not offered by this adapter")
        raise UnsupportedCapability(N_("EDMS adapter {name} cannot list appeals: {reason}"),
                                    params={"name": name, "reason": reason})
    return adapter
