"""SSTU export tests: puts ``sstu_samples`` on the path; the official classifier fixture."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from sstu_samples import CLASSIFIER  # noqa: E402


@pytest.fixture(scope="session")
def classifier_tree() -> Any:
    if not CLASSIFIER.is_file():
        pytest.fail(f"the official classifier edition is expected at {CLASSIFIER} (../shared/data)")
    return json.loads(CLASSIFIER.read_text(encoding="utf-8"))
