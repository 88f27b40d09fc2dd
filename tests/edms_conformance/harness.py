"""What the conformance suite needs from each adapter's simulator.

One harness per adapter (``harness_<adapter>.py`` beside this file, exporting
``make_harness(tmp_path) -> EdmsHarness``); the suite in ``test_conformance.py`` runs the
same checks against every harness listed in ``HARNESSES``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from connector.edms_adapters.base import AdapterContext
from connector.transport import RetryingSession, RetryPolicy


def test_context(data_dir: Path, target: str = "conformance") -> AdapterContext:
    """An adapter context whose sessions retry 4 times without sleeping."""
    return AdapterContext(target_name=target, data_dir=data_dir,
                          session_factory=lambda: RetryingSession(RetryPolicy(max_attempts=4), timeout=10,
                                                                  sleep=lambda _s: None))


test_context.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


class EdmsHarness(Protocol):
    adapter_name: str  # the entry-point name, e.g. "onec_dm"

    def settings(self) -> dict[str, Any]:
        """The raw ``[edms.<name>]`` table pointing at the running simulator."""

    def bad_credentials_settings(self) -> dict[str, Any]:
        """As settings(), with credentials the simulator rejects (or, for a system without
        credentials, another configuration error health() must report)."""

    def unreachable_settings(self) -> dict[str, Any]:
        """As settings(), pointing at an endpoint nobody serves."""

    def process(self) -> None:
        """Let the EDMS do pending asynchronous work (МЭДО: pick up delivered packages and
        emit notifications); a no-op for synchronous systems."""

    def act(self, action: str, pos_id: str, **kw: Any) -> None:
        """Make the EDMS side do ``action`` to the card of ``pos_id``: "assign" (executor and
        deadline), "extend" (later deadline), "answer" (signed answer with a file), "redirect"
        (kw: org_id, comment)."""

    def cards_for(self, pos_id: str) -> int:
        """How many cards the EDMS holds for this POS id."""

    def card_files(self, pos_id: str) -> list[tuple[str, str]]:
        """(name, sha256) of the files the EDMS holds on that card."""

    def hold_foreign_card(self, account: str, pos_id: str, owner_pos_id: str) -> None:
        """Make the EDMS hold, where the adapter looks for the card of (``account``, ``pos_id``), a card
        that belongs to POS message ``owner_pos_id`` (a restored backup, a copied base, an edited card),
        with no files."""

    def transient_burst(self, count: int) -> None:
        """Make the next ``count`` protocol requests fail transiently (5xx or equivalent)."""

    def control_tasks_for(self, pos_id: str) -> list[str] | None:
        """The texts of the control tasks (rating loop) the EDMS holds on that card; None: this EDMS has no
        control tasks and the adapter must not claim the capability."""

    def close(self) -> None:
        """Stop the simulator."""
