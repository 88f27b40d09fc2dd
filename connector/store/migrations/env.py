"""Alembic environment: the engine is handed over by connector.store.db, never read from an ini."""

from __future__ import annotations

from alembic import context

import connector.notices.records  # noqa: F401
import connector.rubric_mapping.models  # noqa: F401  (their tables belong to the same metadata)
import connector.showcase.records  # noqa: F401
import connector.sstu_export.records  # noqa: F401
from connector.store.models import Base

engine = context.config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
