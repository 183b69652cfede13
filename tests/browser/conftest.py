"""Browser tests: Playwright for Python driving Debian's Chromium (`apt-get install chromium`;
Playwright downloads no browser here) against a live server on 127.0.0.1.

Where Chromium or Playwright is missing the tests skip with the reason; in CI (CI=true, or
REQUIRE_BROWSER=1 as .ci/run sets) that is a failure. Screenshots land in
artifacts/screenshots/ (SCREENSHOT_DIR overrides it), kept after the run."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings

CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
LOCAL_HOST = "127.0.0.1"
BROWSER_TIMEOUT_MS = 20_000


def _browser_required() -> bool:
    return os.environ.get("CI", "").lower() == "true" or os.environ.get("REQUIRE_BROWSER") == "1"


def _missing(reason: str):
    if _browser_required():
        pytest.fail(f"In CI the browser tests must run, but: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def live_server():
    """pytest-django's live server, bound to 127.0.0.1 (not `localhost`), so "no request
    left 127.0.0.1" is a plain comparison of host names."""
    from pytest_django.live_server_helper import LiveServer

    server = LiveServer(LOCAL_HOST)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright is not installed (pip install -r requirements-dev.txt)")
    if not os.access(CHROMIUM_PATH, os.X_OK):
        _missing(f"Chromium not found at {CHROMIUM_PATH} (apt-get install chromium, or set CHROMIUM_PATH)")
    # Playwright's sync API keeps an asyncio loop in this thread, which makes Django refuse
    # every ORM call of the test (SynchronousOnlyOperation). The calls are synchronous all
    # the same; the flag is set only while the browser runs and put back afterwards.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    # One patience for every wait, the `expect` assertions included (theirs is 5 s by default):
    # in CI the other xdist worker starts PostgreSQL clusters and gunicorn beside this one on
    # two cores, and a save that waits on a commit's fsync can take seconds.
    from playwright.sync_api import expect

    expect.set_options(timeout=BROWSER_TIMEOUT_MS)
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


class PageRecorder:
    """Every request the page made, and the browser console's errors (a CSP violation is
    one). Requests to any other host are recorded and aborted: the tests need no network,
    and a page that reaches out fails its assertion instead of hanging."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.console_errors: list[str] = []
        self.responses: list[str] = []  # method, status and URL, in order: printed when a test fails

    def foreign_requests(self) -> list[str]:
        return [
            url for url in self.requests if urlsplit(url).hostname not in (LOCAL_HOST,) and not url.startswith("data:")
        ]


@pytest.fixture
def page(browser, live_server, request):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server.url)
    context.set_default_timeout(BROWSER_TIMEOUT_MS)
    recorder = PageRecorder()

    # Only requests to another host are intercepted (and aborted); the app's own go
    # straight through. Every request is recorded from the request event.
    context.route(_foreign, lambda route_: route_.abort())
    context.on("request", lambda request_: recorder.requests.append(request_.url))
    page_ = context.new_page()
    page_.on("console", lambda msg: recorder.console_errors.append(msg.text) if msg.type == "error" else None)
    page_.on("response", lambda r: recorder.responses.append(f"{r.request.method} {r.status} {r.url}"))
    page_.recorder = recorder
    yield page_
    call = getattr(request.node, "rep_call", None)
    if call is not None and call.failed:
        print("The page's responses, in order:", *recorder.responses, sep="\n  ")
        print("Its cookies at the end:", context.cookies())
    context.close()


def _foreign(url: str) -> bool:
    return urlsplit(url).hostname != LOCAL_HOST and not url.startswith(("data:", "blob:"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """The call's report on the test item (`rep_call`), for the page fixture's teardown."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def screenshot(request):
    """screenshot(page, "name"): a full-page PNG in the screenshot folder, named after the test."""
    folder = Path(os.environ.get("SCREENSHOT_DIR", settings.BASE_DIR / "artifacts" / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    test = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)

    def take(page_, name: str) -> Path:
        path = folder / f"{test}--{name}.png"
        page_.screenshot(path=str(path), full_page=True)
        return path

    return take
