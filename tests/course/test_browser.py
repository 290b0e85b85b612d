"""A real browser on the real thing: `halab course` serves JupyterLab, headless Chromium opens the first
notebook of the student's workspace, runs it, moves the availability slider, and the widget's output must
change.

Uses Debian's /usr/bin/chromium through Playwright's executable_path (no browser download). A missing
Chromium is a test failure, not a skip: CI installs it (scripts/apt-packages.txt).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.course.helpers import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS


@pytest.mark.browser
def test_moving_the_nines_slider_changes_the_downtime(course_server: Callable[..., str], tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)")
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "browser-01-introduction.png"
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=str(CHROMIUM), headless=True,
            args=CHROMIUM_FLAGS, viewport={"width": 1280, "height": 1000},
        )  # fmt: skip
        page = context.new_page()
        try:
            page.goto(course_server(), timeout=60_000)  # what a student gets: their own copy of the course
            page.locator(".jp-Notebook").first.wait_for(timeout=60_000)
            # JupyterLab asks about news once; answer so that the popup stays out of the screenshot.
            with contextlib.suppress(PlaywrightTimeout):
                page.get_by_role("button", name="No", exact=True).click(timeout=5_000)
            # Wait for the kernel to be ready, then run every cell from the Run menu.
            expect(page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first).to_be_visible(
                timeout=60_000
            )
            page.locator(".lm-MenuBar-item", has_text="Run").first.click()
            page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()

            slider = page.locator(".widget-slider").first
            slider.wait_for(timeout=60_000)
            summary = page.locator(".halab-msg", has_text="nines").first
            expect(summary).to_contain_text("99.9 % is 3.00 nines", timeout=30_000)
            before = summary.inner_text()
            table_before = page.locator(".halab-table").first.inner_text()

            slider.scroll_into_view_if_needed()
            handle = slider.locator(".noUi-handle").first
            handle.focus()
            for _ in range(5):  # five steps of 0.1: 3.0 -> 3.5 nines
                handle.press("ArrowRight")
            # The kernel computes the new output: 3.5 nines is 99.968 %, with a shorter downtime table.
            expect(summary).to_contain_text("3.50 nines", timeout=15_000)
            assert summary.inner_text() != before
            assert page.locator(".halab-table").first.inner_text() != table_before
            page.screenshot(path=str(screenshot))
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "browser-failure.png"))
            raise
        finally:
            context.close()
    assert screenshot.stat().st_size > 10_000
