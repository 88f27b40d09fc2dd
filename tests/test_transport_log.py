"""A retry warning tells the operator who failed and where -- never with the credentials."""

from __future__ import annotations

import logging

import pytest

from connector.simulators.server import SimServer
from connector.simulators.sstu import SstuSimulator
from connector.transport import RetryingSession, RetryPolicy

import simctl


def test_retry_warnings_name_the_system_and_endpoint_without_credentials(caplog: pytest.LogCaptureFixture) -> None:
    with SimServer(SstuSimulator()) as server:
        simctl.faults(server, error_rate=1.0)
        session = RetryingSession(RetryPolicy(max_attempts=2, initial_wait=0, max_wait=0), system="ССТУ")
        url = server.url.replace("http://", "http://importer:pa55word@") + "/IPCP/HandlingReportPlugin/Api/Import"
        with caplog.at_level(logging.WARNING, logger="connector.transport"):
            assert session.post(f"{url}?token=t0ken", json={}).status_code >= 500
    [record] = [r for r in caplog.records if r.name == "connector.transport"]
    text = record.getMessage()
    assert text == f"retrying request to ССТУ POST {server.url}/IPCP/HandlingReportPlugin/Api/Import"
    assert "pa55word" not in text + str(vars(record)) and "t0ken" not in text + str(vars(record))
