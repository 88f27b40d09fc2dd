"""The columns the ORM-free readers query, as Core tables.

``connector status`` runs every minute from scripts and the health endpoints answer a probe: importing
``sqlalchemy.orm`` and building the declarative models costs more than the whole command may take
(README «Performance»), so they read these lightweight tables.  The models stay the schema's one
definition: ``tests/store/test_read_tables.py`` holds every column here equal to the model's column.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Integer, String, Text, column, table

from connector.store.types import UtcDateTime

messages = table("messages", column("id", Integer), column("account", String), column("pos_id", String),
                 column("state", String), column("last_error", Text), column("next_attempt_at", UtcDateTime()))

outbox = table("outbox", column("state", String), column("created_at", UtcDateTime()))

failures = table("failures", column("resolved_at", UtcDateTime()))

job_runs = table("job_runs", column("id", Integer), column("job", String), column("worker", String),
                 column("started_at", UtcDateTime()), column("finished_at", UtcDateTime()),
                 column("ok", Boolean), column("processed", Integer), column("failed", Integer),
                 column("error", Text))

sstu_appeals = table("sstu_appeals", column("send_state", String))

showcase_items = table("showcase_items", column("send_state", String))

TABLES = (messages, outbox, failures, job_runs, sstu_appeals, showcase_items)
