"""Fixtures of the browser tier: one Playwright driver and one Debian Chromium per session, a
loopback page server for our STN test pages, and a fresh browser context per test."""

from __future__ import annotations

import pytest
from browserkit import PageServer, launch, require_chromium


# Module scope, not session: Playwright's sync API keeps an event loop running on the main
# thread while it is started, so every later test's asyncio.run() would fail.
@pytest.fixture(scope="module")
def playwright():
    try:
        require_chromium()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    from playwright.sync_api import sync_playwright

    driver = sync_playwright().start()
    yield driver
    driver.stop()


@pytest.fixture(scope="module")
def chromium(playwright):
    """Headless Chromium with the fake camera and microphone (used by the publisher test)."""
    browser = launch(playwright, fake_media=True)
    yield browser
    browser.close()


@pytest.fixture
def context(chromium):
    """A fresh browser context (own cookies and storage); every wait bounded at 20 s."""
    ctx = chromium.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(20_000)
    yield ctx
    ctx.close()


@pytest.fixture(scope="session")
def pages():
    server = PageServer()
    yield server
    server.stop()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item, so fixtures can tell a failed test at teardown."""
    report = yield
    setattr(item, "rep_" + report.when, report)
    return report
