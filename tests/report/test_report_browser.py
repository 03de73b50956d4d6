"""The report page in headless Chromium at desktop and phone widths: nothing overflows, every chart loads.

Screenshots are kept in runs/screenshots/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hfswim.languages import parse_languages
from tests.report.conftest import make_run

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "runs" / "screenshots"

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("width", [1280, 390])
def test_report_page_fits_the_screen(tmp_path, width):
    if not CHROMIUM.exists():
        pytest.fail("Debian chromium is needed for the browser test: run `apt-get install -y chromium`")
    from playwright.sync_api import sync_playwright

    from hfswim.report import write_report

    page_path = write_report(make_run(tmp_path / "run", [c.code for c in parse_languages("xor")])).html
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox"])
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.goto(page_path.as_uri())
        images = page.eval_on_selector_all(
            "img", "els => els.map(e => [e.naturalWidth, e.getBoundingClientRect().right])"
        )
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"report-{width}.png"), full_page=True)
        browser.close()
    assert len(images) == 3 and all(natural > 0 for natural, _ in images)  # every chart decoded
    assert all(right <= width for _, right in images)  # charts scale down to the screen
    assert overflow <= 0  # wide tables scroll inside their box, the page does not
