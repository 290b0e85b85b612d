"""Fixtures and markers for the course tests."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives JupyterLab in headless Chromium (needs /usr/bin/chromium)")


@pytest.fixture
def no_lab(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the course believe that no lab is up, whatever runs on this machine."""
    from halab.course import labaccess

    monkeypatch.setattr(labaccess, "up_labs", lambda: ([], None))
