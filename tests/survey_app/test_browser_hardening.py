"""Real servers and a real browser: what an outsider or a page error can see.

- ``streamlit run survey_app/serve.py`` (the production entry) does not serve
  ``/_stcore/metrics``; ``streamlit run survey_app/app.py`` does (Streamlit has no setting).
- With the project's ``.streamlit/config.toml`` an error that escapes a page shows no traceback.
- Data passed through :func:`survey_app.ui.md_text` renders as literal text in Streamlit's own
  Markdown renderer: no image is fetched, no link is drawn; selectbox options (which the pages
  pass unescaped) are plain text.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import require_program

pytestmark = pytest.mark.browser

PROJECT_ROOT = Path(__file__).parent.parent.parent
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
START_TIMEOUT = 60  # seconds
IMAGE = "![x](http://127.0.0.1:9/x.png)"
LINK = "[re-authenticate](http://127.0.0.1:9)"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def streamlit_server(script: Path, log: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """The base URL of ``streamlit run script`` started from the project root; stopped afterwards."""
    port = free_port()
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none"],
            cwd=PROJECT_ROOT, env={**os.environ, **(env or {})}, stdout=output, stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while status(f"{base}/_stcore/health") != 200:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"streamlit did not start: {log.read_text()}")
                time.sleep(0.3)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def body(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode()


def test_the_production_entry_hides_the_metrics_endpoint(tmp_path):
    chromium = require_program("chromium", candidates=("/usr/bin/chromium",))
    from playwright.sync_api import sync_playwright

    env = {"SURVEY_DB_URL": f"sqlite:///{tmp_path / 'survey.db'}"}
    with streamlit_server(PROJECT_ROOT / "survey_app" / "app.py", tmp_path / "plain.log", env) as base:
        assert "session_events" in body(f"{base}/_stcore/metrics")  # what Streamlit serves by default
    with streamlit_server(PROJECT_ROOT / "survey_app" / "serve.py", tmp_path / "serve.log", env) as base:
        for path in ("/_stcore/metrics", "/_stcore/metrics/", "/_stcore/metrics?families=session_events"):
            assert status(base + path) == 404, path
        assert status(f"{base}/_stcore/health") == 200
        with sync_playwright() as playwright:  # and the app itself is served
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, timeout=60_000)
            try:
                page = browser.new_page()
                page.goto(base)
                page.wait_for_selector('[data-testid="stApp"]', timeout=30_000)
                page.get_by_role("heading").first.wait_for(timeout=30_000)
                assert "Traceback" not in page.content()
            finally:
                browser.close()


SCRIPT = f'''
import streamlit as st
from survey_app.ui import md_text

payloads = [{IMAGE!r}, {LINK!r}, "**bold** :red[red] $x^2$ <b>b</b> www.example.com wang@example.com"]
st.markdown(" · ".join(md_text(p) for p in payloads))
st.warning(md_text({LINK!r}))
st.segmented_control("wave", ["2026", {IMAGE!r}, {LINK!r}], format_func=md_text, key="w")
st.selectbox("pick", [{IMAGE!r}, {LINK!r}])  # options are plain text: the pages pass data unescaped
if st.button("fail"):
    1 / 0
'''


def test_escaped_data_renders_as_text_and_errors_show_no_traceback(tmp_path):
    chromium = require_program("chromium", candidates=("/usr/bin/chromium",))
    from playwright.sync_api import sync_playwright

    script = tmp_path / "escaped.py"
    script.write_text(SCRIPT, encoding="utf-8")
    requested: list[str] = []
    with streamlit_server(script, tmp_path / "escaped.log", {"PYTHONPATH": str(PROJECT_ROOT)}) as base:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, timeout=60_000)
            try:
                page = browser.new_page()
                page.on("request", lambda request: requested.append(request.url))
                page.goto(base)
                page.get_by_role("button", name="fail").wait_for(timeout=30_000)
                main = page.locator('[data-testid="stMain"]')
                text = main.inner_text().replace("\u2060", "")  # the word joiners md_text adds are invisible
                for payload in (IMAGE, LINK, "**bold**", ":red[red]", "$x^2$", "<b>b</b>", "www.example.com", "wang@example.com"):
                    assert payload in text, payload
                assert main.locator("img").count() == 0
                links = main.locator("a")
                assert links.count() == 0, [links.nth(i).evaluate("e => e.outerHTML") for i in range(links.count())]
                assert not [url for url in requested if "127.0.0.1:9" in url]

                page.get_by_role("button", name="fail").click()
                page.locator('[data-testid="stException"]').wait_for(timeout=30_000)
                shown = page.locator('[data-testid="stException"]').inner_text()
                assert "ZeroDivisionError" not in shown and "1 / 0" not in shown and "Traceback" not in shown
            finally:
                browser.close()
