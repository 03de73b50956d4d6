"""The Gradio Space: its search function, and a real browser (Playwright + Debian chromium) using the page."""

from __future__ import annotations

import importlib.util
import socket
from pathlib import Path

import pytest

SPACE = Path(__file__).resolve().parents[2] / "spaces" / "app.py"
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def space():
    spec = importlib.util.spec_from_file_location("hfswim_space_app", SPACE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def searcher(space, tmp_path_factory):
    from hfswim.evaluation.search import Searcher

    folder = space.build_demo_index(tmp_path_factory.mktemp("demo-index"))
    return Searcher.load(folder)


@pytest.mark.slow
def test_space_search_function_ranks_the_demo_corpus(space, searcher):
    info, rows = space.search("Why do baobab trees have thick trunks?", 3, searcher=searcher)
    assert "English (en)" in info and "40 passages" in info
    assert [r[0] for r in rows] == [1, 2, 3]
    assert rows[0][3] == "Baobab" and rows[0][2] == "en"
    assert rows[0][1] >= rows[1][1] >= rows[2][1]
    assert space.search("   ", 3, searcher=searcher) == ("Type a question in any language.", [])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_space_in_a_real_browser(space, searcher):
    if not CHROMIUM.exists():
        pytest.fail("Debian chromium is needed for the browser test: run `apt-get install -y chromium`")
    from playwright.sync_api import sync_playwright

    demo = space.build_app(searcher)
    port = _free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=str(CHROMIUM),
                args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded")
            page.locator("#query textarea").fill("Why do baobab trees have thick trunks?")
            page.locator("#search-button").click()
            page.locator("#query-info").get_by_text("Query language").wait_for(timeout=60_000)
            page.locator("#results").get_by_text("Baobab", exact=True).first.wait_for(timeout=60_000)
            assert "English (en)" in page.locator("#query-info").inner_text()
            browser.close()
    finally:
        demo.close()
