"""Access tokens of one POS account (ЛКО): fetched lazily, refreshed before they expire.

Operator messages name the account, never the login's password or a token.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from connector.errors import AuthError, Phrase, TransientError
from connector.i18n import N_
from connector.pos_client import wire
from connector.pos_client.settings import AccountSettings, pos_account
from connector.transport import DEFAULT_TABLE, Action, Peer, RetryingSession, Rule, Table

# Refresh this long before the announced expiry (bounded by a share of a short lifetime).
_EARLY_REFRESH_SECONDS = 30.0
_EARLY_REFRESH_SHARE = 0.1

#: The token endpoint: 400/401/403 mean the login is wrong; any other 4xx is the endpoint's fault,
#: never one appeal's, so it waits like an outage instead of quarantining the item that asked.
TOKEN_TABLE: Table = {**DEFAULT_TABLE, 400: Rule(Action.FAIL, AuthError), 401: Rule(Action.FAIL, AuthError),
                      403: Rule(Action.FAIL, AuthError), "4xx": Rule(Action.FAIL, TransientError)}


class TokenManager:
    """Holds the bearer token of one account; ``clock`` is injectable for tests.  Shared by the
    threads of a job (``[daemon] concurrency``): one of them fetches a new token, the others wait
    for it, and a 401 met with a token already replaced does not throw the new one away."""

    def __init__(self, account: AccountSettings, session: RetryingSession,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._account = account
        self._session = session
        self.clock = clock
        self._token: str | None = None
        self._refresh_at = 0.0
        self.fetched = 0  # how many tokens were obtained (for tests and metrics)
        self._lock = threading.Lock()

    @property
    def _url(self) -> str:
        return self._account.pos_base_url.rstrip("/") + wire.PATH_TOKEN

    def header(self) -> dict[str, str]:
        """The Authorization header, fetching a token first when none is valid."""
        with self._lock:
            if self._token is None or self.clock() >= self._refresh_at:
                self.refresh()
            return {wire.HEADER_AUTHORIZATION: f"{wire.BEARER} {self._token}"}

    def invalidate(self, rejected: dict[str, str] | None = None) -> None:
        """Forget the token; ``rejected``: only if it is still the one of that header (POS refused it)."""
        with self._lock:
            if rejected is None or rejected.get(wire.HEADER_AUTHORIZATION) == f"{wire.BEARER} {self._token}":
                self._token = None

    def refresh(self) -> None:
        body = wire.WireTokenRequest(login=self._account.login,
                                     password=self._account.password.get_secret_value()).to_wire()
        peer = Peer(pos_account(self._account.name), credentials=Phrase(N_("login")),
                    hint=Phrase(N_("; check the account's login and password")))
        self._token = None  # callers hold the lock (header) or own the manager alone
        with self._session.call("POST", self._url, peer=peer, what=f"POST {wire.PATH_TOKEN}", table=TOKEN_TABLE,
                                json=body) as response:
            token = wire.decode(wire.WireTokenResponse, response.content,
                                what=f"{wire.PATH_TOKEN} ({self._account.name})")
        now = self.clock()
        early = min(_EARLY_REFRESH_SECONDS, token.expires_in * _EARLY_REFRESH_SHARE)
        self._token = token.access_token
        self._refresh_at = now + token.expires_in - early
        self.fetched += 1
