"""The Core tables ``connector status`` reads without the ORM must stay the models' columns: a column
renamed or retyped in a model (and its migration) without this module would make status count nothing
or fail on an operator's terminal."""

from __future__ import annotations

import connector.notices.records  # noqa: F401  (the models register their tables on import)
import connector.showcase.records  # noqa: F401
import connector.sstu_export.records  # noqa: F401
from connector.store.models import Base
from connector.store.read_tables import TABLES


def test_every_read_column_is_the_models_column_with_its_type() -> None:
    wrong = []
    for table in TABLES:
        model = Base.metadata.tables.get(table.name)
        if model is None:
            wrong.append(f"{table.name}: no such model table")
            continue
        for column in table.columns:
            if column.name not in model.columns:
                wrong.append(f"{table.name}.{column.name}: not in the model")
            elif type(column.type) is not type(model.columns[column.name].type):
                wrong.append(f"{table.name}.{column.name}: {type(column.type).__name__}, "
                             f"model {type(model.columns[column.name].type).__name__}")
    assert wrong == []
