"""Log records are JSON and never carry secrets or applicants' contact data."""

from __future__ import annotations

import io
import json
import logging

from connector.logs import configure_logging, pii_scope


def test_secrets_emails_and_phones_are_masked_in_messages_extras_and_tracebacks() -> None:
    stream = io.StringIO()
    configure_logging("DEBUG", "json", secrets=["s3cr3t-token-value"], stream=stream)
    log = logging.getLogger("connector.test")
    log.info("token s3cr3t-token-value for ivanova@example.ru", extra={"phone": "+7 (912) 345-67-89"})
    try:
        raise ValueError("login failed with s3cr3t-token-value, call 8 912 345 67 89")
    except ValueError:
        log.exception("boom")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    text = stream.getvalue()
    assert "s3cr3t-token-value" not in text and "ivanova@example.ru" not in text
    assert "345-67-89" not in text and "345 67 89" not in text
    assert lines[0]["msg"] == "token *** for <email>" and lines[0]["phone"] == "<phone>"
    assert "ValueError" in lines[1]["exc"]
    logging.getLogger().handlers.clear()


def test_the_current_applicants_data_is_masked_whoever_logs_it() -> None:
    stream = io.StringIO()
    configure_logging("DEBUG", "text", stream=stream)
    with pii_scope(["Кузнецова", "Анна", "Петровна", "г. Демо, ул. Садовая, д. 5"]):
        logging.getLogger("zeep.transports").warning("POST body: <name>Кузнецова Анна Петровна</name> ул. Садовая")
    logging.getLogger("x").warning("after the scope Кузнецова is just a word")
    text = stream.getvalue()
    first, second = text.splitlines()
    assert "Кузнецова" not in first and "Анна" not in first and "Садовая" not in first
    assert "Кузнецова" in second
    logging.getLogger().handlers.clear()
