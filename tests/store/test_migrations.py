"""The migrations and the models describe the same schema, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import connector.notices.records  # noqa: F401
import connector.rubric_mapping.models  # noqa: F401  (their tables are part of the schema)
import connector.showcase.records  # noqa: F401
import connector.sstu_export.records  # noqa: F401
from connector.store.db import Store
from connector.store.models import Base


def test_the_migrated_schema_matches_the_models(db_url: str) -> None:
    store = Store(db_url)
    try:
        with store.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
    finally:
        store.dispose()
    # a difference means a model changed without a migration (or the reverse)
    assert differences == []


def test_the_schema_head_constant_is_alembics_head() -> None:
    from connector.store.db import SCHEMA_HEAD, head_revision

    assert head_revision() == SCHEMA_HEAD  # a new migration must move SCHEMA_HEAD with it
