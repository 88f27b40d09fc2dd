"""What the Directum RX adapter checks before it talks business: the settings RX needs on every letter
and the installation's ``$metadata`` against the names configured.  Pure: the adapter fetches."""

from __future__ import annotations

from connector.edms_adapters.directum_rx import wire
from connector.edms_adapters.directum_rx.settings import DirectumRxSettings
from connector.errors import FatalAdapterError
from connector.i18n import N_


def require_refs(s: DirectumRxSettings, target_name: str) -> None:
    """RX refuses an incoming letter without its kind, business unit and department; say which key to
    set instead of letting every message fail on the server's 400."""
    missing = s.missing_required()
    if missing:
        raise FatalAdapterError(
            N_("edms.{target}: set {keys} (ids from the installation's IDocumentKinds, "
               "IBusinessUnits, IDepartments): Directum RX requires them on every incoming letter"),
            params={"target": target_name, "keys": ", ".join(missing)})


def check_metadata(s: DirectumRxSettings, metadata: bytes) -> None:
    """The configured entity sets, and the property settings that differ between RX versions, against
    the installation's ``$metadata``: a wrong property would otherwise fail every get_card with a 400."""
    try:
        sets = wire.entity_sets(metadata)
        known = wire.set_properties(metadata)
    except (ValueError, SyntaxError) as exc:
        raise FatalAdapterError(N_("{url}/$metadata is not an OData CSDL document"), params={"url": s.url},
                                detail=str(exc)[:200]) from None
    needed = [s.incoming_set, s.outgoing_set, s.persons_set, s.tasks_set]
    if s.require_assignments:
        needed.append(s.assignments_set)
    if s.control_tasks_set:  # the rating loop's control tasks: a wrong name would fail only at the first low rating
        needed.append(s.control_tasks_set)
    missing = [name for name in needed if name not in sets]
    if missing:
        raise FatalAdapterError(N_("Directum RX at {url} has no entity set(s) {sets} "
                                   "(check the *_set settings against $metadata)"),
                                params={"url": s.url, "sets": ", ".join(missing)})
    wanted = {
        s.tasks_set: [("task_resolution_property", s.task_resolution_property),
                      ("task_executor_property", s.task_executor_property),
                      ("task_attachment_check", s.task_attachment_check.partition("/")[0])],
        s.outgoing_set: [("answer_link_property", s.answer_link_property),
                         ("answer_links_collection", s.answer_links_collection.partition("/")[0])],
    }
    if s.control_tasks_set:
        wanted.setdefault(s.control_tasks_set, []).append(("control_document_property", s.control_document_property))
    for set_name, pairs in wanted.items():
        if set_name not in known:
            continue  # its type is not in the document: nothing to say
        for key, name in pairs:
            if name and name not in known[set_name]:
                raise FatalAdapterError(N_("Directum RX at {url}: {set} has no property {name} "
                                           "(setting {key}; see docs/edms.md, «Directum RX»)"),
                                        params={"url": s.url, "set": set_name, "name": repr(name), "key": key})
