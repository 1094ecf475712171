"""Shared test helpers: repository paths and the optional real data in ../shared/data."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"

# Tests must never depend on the user's environment choosing a mirror for them.
os.environ.pop("XAIREPRO_DATA_MIRROR", None)


@pytest.fixture
def shared_data() -> Path:
    if not (SHARED_DATA / "SHA256SUMS").is_file():
        pytest.skip(f"real data not available: {SHARED_DATA} (as on a user's machine)")
    return SHARED_DATA
