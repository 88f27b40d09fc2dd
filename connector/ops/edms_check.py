"""``connector edms check``: validate each account's EDMS target and call its health()."""

from __future__ import annotations

import functools

from pydantic import BaseModel

from connector.config import Settings
from connector.edms_adapters.base import AdapterContext, capabilities_of
from connector.edms_adapters.registry import create_adapter
from connector.errors import ConnectorError
from connector.transport import RetryPolicy, session_for


class EdmsCheck(BaseModel):
    account: str
    target: str
    adapter: str
    ok: bool
    problem: str = ""
    #: what the health check learnt (1С: version, useDigitalSignatures); adapters offer ``health_details``
    details: dict[str, str] = {}
    #: optional capabilities (base.OPTIONAL_CAPABILITIES): "yes", "off" (offered, off in settings), "no: why"
    capabilities: dict[str, str] = {}


def check_edms(settings: Settings, account: str | None = None) -> list[EdmsCheck]:
    accounts = [settings.account(account)] if account else settings.accounts
    results: list[EdmsCheck] = []
    http = settings.http
    # One attempt, short waits: a health check should answer quickly, not retry for minutes.
    policy = RetryPolicy(max_attempts=2, initial_wait=0.2, max_wait=1)
    for acc in accounts:
        target = settings.edms[acc.edms]
        context = AdapterContext(target_name=acc.edms, data_dir=settings.daemon.data_dir / "edms" / acc.edms,
                                 answer_days=acc.answer_days, zone=settings.sstu.zone,
                                 session_factory=functools.partial(session_for, http, policy,
                                                                   system=f"edms.{acc.edms}"))
        check = EdmsCheck(account=acc.name, target=acc.edms, adapter=target.type, ok=False)
        try:
            adapter = create_adapter(target, context)
            check.capabilities = capabilities_of(adapter)
            try:
                adapter.health()
                check.details = {str(k): str(v) for k, v in dict(getattr(adapter, "health_details", {})).items()}
            finally:
                adapter.close()
            check.ok = True
        except ConnectorError as exc:
            check.problem = exc.operator_message
        results.append(check)
    return results
