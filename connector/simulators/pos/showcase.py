"""The POS simulator's data showcase: ``POST /v1/showcase/appeals`` checked item by item.

Each item is validated strictly against :class:`connector.pos_client.wire.WireShowcaseItem`
(required fields, enum values, ``YYYY-MM-DD`` dates, no unknown fields, a closing date only on a
final status and not before the receipt) and rejected alone with the fields named; valid items
replace the organisation's item of the same id.  Two faults of its own:
``showcase_reject_next`` (the next N otherwise valid items are refused, ``ITEM_REJECTED``) and
``showcase_partial_next`` (the next N uploads store their first half, then answer 503: the work
was partly done and the reply lost).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from connector.pos_client import wire
from connector.simulators.faults import FaultInjector
from connector.simulators.pos.state import Reply, SimState, error

MAX_ITEMS = 1000
ERR_ITEM_REJECTED = "ITEM_REJECTED"


def _check(item: Any) -> str | None:
    """Why the showcase refuses ``item`` (fields and rules, never values), or None."""
    if not isinstance(item, dict):
        return "an item must be a JSON object"
    try:
        wire.WireShowcaseItem.model_validate_json(json.dumps(item), strict=True)
    except ValidationError as exc:
        return wire.validation_summary(exc, limit=5)
    return None


def upload(store: SimState, org_id: str, raw: bytes, faults: FaultInjector) -> Reply:
    try:
        items = json.loads(raw)
    except ValueError:
        items = None
    if not isinstance(items, list) or len(items) > MAX_ITEMS:
        return error(400, wire.ERR_BAD_REQUEST, f"expected a JSON array of at most {MAX_ITEMS} items")
    partial = faults.take("showcase_partial")
    results: list[dict[str, Any]] = []
    seen: set[str] = set()
    with store.lock:
        for index, item in enumerate(items[: len(items) // 2] if partial else items):
            results.append(_one(store, org_id, index, item, seen, faults))
        store.showcase_uploads += 1
    if partial:
        return error(503, wire.ERR_UNAVAILABLE, "service temporarily unavailable")
    return 200, results


def _one(store: SimState, org_id: str, index: int, item: Any, seen: set[str], faults: FaultInjector) -> dict[str, Any]:
    problem = _check(item)
    item_id = item.get("id") if isinstance(item, dict) else None
    if problem is None and item_id in seen:
        problem = f"id {item_id!r} appears twice in this upload"
    if problem is None and faults.take("showcase_reject"):
        store.showcase_rejected += 1
        return wire.WireShowcaseResult(index=index, id=item_id, accepted=False, code=ERR_ITEM_REJECTED,
                                       message="the showcase refused the item (simulated)").to_wire()
    if problem is not None:
        store.showcase_rejected += 1
        return wire.WireShowcaseResult(index=index, id=item_id if isinstance(item_id, str) else None,
                                       accepted=False, code=wire.ERR_VALIDATION, message=problem).to_wire()
    seen.add(str(item_id))
    store.showcase[f"{org_id}/{item_id}"] = item
    return wire.WireShowcaseResult(index=index, id=item_id, accepted=True).to_wire()


def items_of(store: SimState, org_id: str | None = None) -> list[dict[str, Any]]:
    """What the showcase holds (of one organisation), by key order."""
    with store.lock:
        return [item for key, item in sorted(store.showcase.items())
                if org_id is None or key.startswith(f"{org_id}/")]
