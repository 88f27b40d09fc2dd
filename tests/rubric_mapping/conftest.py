"""Fixtures of the rubric mapping tests: the official 31.10.2025 edition read from ../shared/data
(never copied into the repository), the shipped SAMPLE categories, a migrated SQLite store."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from connector.rubric_mapping import service  # noqa: E402
from connector.rubric_mapping.classifier import Classifier  # noqa: E402
from connector.rubric_mapping.classifier_import import import_classifier_file  # noqa: E402
from connector.rubric_mapping.pos_categories import PosCategoryTree, load_categories  # noqa: E402
from connector.store.db import Store  # noqa: E402

from rm_support import EDITION_2025, SAMPLE_CATEGORIES  # noqa: E402


@pytest.fixture(scope="session")
def edition_2025() -> Classifier:
    assert EDITION_2025.is_file(), f"reference data missing: {EDITION_2025}"
    return import_classifier_file(EDITION_2025)[0]


@pytest.fixture
def categories() -> PosCategoryTree:
    return load_categories(SAMPLE_CATEGORIES)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    st = Store(f"sqlite:///{tmp_path / 'connector.db'}")
    yield st
    st.dispose()


@pytest.fixture
def ready_store(store: Store, tmp_path: Path) -> Store:
    """Edition 2025-10-31 current, SAMPLE POS categories stored."""
    service.import_classifier(store, EDITION_2025)
    service.resolve_categories(store, SAMPLE_CATEGORIES)
    return store


@pytest.fixture
def template(ready_store: Store, tmp_path: Path) -> Path:
    out = tmp_path / "template.xlsx"
    service.make_template(ready_store, out)
    return out


