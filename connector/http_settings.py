"""``[http]`` and ``[retry]``: the settings of :mod:`connector.transport`, in a module of their own so that
loading the configuration (``connector status`` among others) does not import ``requests``, tenacity
and the transport with them."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from connector.settings_base import StrictModel


class HttpSettings(StrictModel):
    timeout_seconds: float = Field(30.0, gt=0)
    verify_tls: bool = True
    ca_bundle: Path | None = None
    allow_insecure: bool = Field(False, description="permit plain http:// POS/EDMS URLs (simulators, tests)")
    proxy: str = Field("", pattern=r"^(|https?://\S+)$",
                       description="the HTTP(S) proxy of every outbound request; the environment's "
                                   "HTTP(S)_PROXY is never read")
    no_proxy: list[str] = Field(default_factory=list,
                                description="hosts (or domain suffixes) reached without the proxy")

    def verify(self) -> bool | str:
        if self.ca_bundle is not None:
            return str(self.ca_bundle)
        return self.verify_tls


class RetryPolicy(BaseModel):
    """Limits of the one retry policy (``[retry]`` in the configuration)."""

    model_config = ConfigDict(extra="forbid")

    max_attempts: int = Field(5, ge=1, le=20, description="attempts per request, the first included")
    initial_wait: float = Field(0.5, ge=0, description="seconds before the first retry; doubles each time")
    max_wait: float = Field(30.0, ge=0, description="upper bound of one exponential wait")
    max_retry_after: float = Field(120.0, ge=0, description="a longer Retry-After is capped to this")
