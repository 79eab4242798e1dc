"""Programs the diagram tests drive for real: Graphviz's `dot` and headless Chromium.

Without them the tests that need them skip, saying what to install; CI sets
`ORCHESTRA_REQUIRE_GRAPHVIZ=1` and `ORCHESTRA_REQUIRE_CHROMIUM=1` to make that a failure.
"""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = "/usr/bin/chromium"


def _missing(variable: str, reason: str) -> None:
    if os.environ.get(variable) == "1":
        pytest.fail(f"{variable}=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def graphviz_installed() -> None:
    if shutil.which("dot") is None:
        _missing(
            "ORCHESTRA_REQUIRE_GRAPHVIZ",
            "Graphviz's `dot` is not installed (Debian: apt-get install graphviz)",
        )


@pytest.fixture
def chromium() -> str:
    found = shutil.which("chromium") or (CHROMIUM if os.path.exists(CHROMIUM) else None)
    if found is None:
        _missing(
            "ORCHESTRA_REQUIRE_CHROMIUM",
            "Chromium is not installed (Debian: apt-get install chromium)",
        )
    assert found is not None
    return found
