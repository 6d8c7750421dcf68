"""`grader serve` end to end in a real browser: Debian's Chromium driven by chromium-driver
through Selenium (nothing downloads a browser). A student logs in with a token, uploads a zip,
watches the status change (the page reloads itself: no script), opens the report; staff open
the class summary. Skipped where chromium-driver or Selenium is absent
(`apt-get install chromium-driver`, `pip install selenium`)."""
from __future__ import annotations

import shutil
import time

import pytest

from tests.test_serve_support import REPO, Server, issue_tokens, zip_bytes

DRIVER = shutil.which("chromedriver") or ("/usr/bin/chromedriver" if shutil.os.path.exists("/usr/bin/chromedriver")
                                          else None)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
webdriver = pytest.importorskip("selenium.webdriver")
pytestmark = [pytest.mark.skipif(DRIVER is None or CHROMIUM is None, reason="chromium-driver is not installed"),
              pytest.mark.skipif(not (REPO / "solutions" / "arch").is_dir(), reason="needs solutions/arch")]


@pytest.fixture
def browser(tmp_path):
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=DRIVER))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def text(driver, css: str) -> str:
    from selenium.webdriver.common.by import By
    return driver.find_element(By.CSS_SELECTOR, css).text


def arrive(driver, suffix: str) -> None:
    """Wait for the navigation a click started (a form post may return before the next page loads)."""
    from selenium.webdriver.support.ui import WebDriverWait
    try:
        WebDriverWait(driver, 30, poll_frequency=0.1).until(lambda d: d.current_url.split("?")[0].endswith(suffix))
    except Exception:  # noqa: BLE001
        raise AssertionError(f"not at {suffix}: {driver.current_url}: {driver.page_source[:2000]}") from None


def test_student_uploads_and_reads_the_report_staff_open_the_summary(tmp_path, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    data = tmp_path / "data"
    tokens = issue_tokens(REPO, data, ["s0"], ["ta"])
    upload = tmp_path / "hw3.zip"
    upload.write_bytes(zip_bytes({"hw3/arch.py": (REPO / "solutions" / "arch" / "arch.py").read_bytes()}))
    server = Server(REPO, data, 1).start()
    try:
        browser.get(server.url + "/")
        browser.find_element(By.ID, "token").send_keys(tokens["s0"])
        browser.find_element(By.ID, "login").click()
        arrive(browser, "/home")
        assert "My work" in text(browser, "h1")
        browser.find_element(By.ID, "open-arch").click()
        arrive(browser, "/assignments/arch")
        browser.find_element(By.ID, "file").send_keys(str(upload))
        browser.find_element(By.ID, "upload").click()
        WebDriverWait(browser, 30).until(lambda d: "/submissions/" in d.current_url)
        seen = [text(browser, "#status")]
        assert "/submissions/" in browser.current_url and seen[0].startswith(("Queued", "Grading", "Done"))
        deadline = time.monotonic() + 90
        while not seen[-1].startswith("Done") and time.monotonic() < deadline:
            time.sleep(0.5)
            try:
                seen.append(text(browser, "#status"))
            except Exception:  # noqa: BLE001  (the page is reloading itself)
                continue
        assert seen[-1].startswith("Done: 53 / 53 points"), seen
        assert not seen[0].startswith("Done"), "the status never changed in the browser"
        browser.find_element(By.ID, "report").click()
        arrive(browser, "/report.html")
        assert "arch" in browser.page_source and "53" in browser.page_source
        browser.back()
        browser.find_element(By.ID, "logout").click()
        arrive(browser, "/login")
        browser.find_element(By.ID, "token").send_keys(tokens["ta"])
        browser.find_element(By.ID, "login").click()
        arrive(browser, "/staff")
        browser.find_element(By.ID, "summary").click()
        arrive(browser, "/staff/class/")
        assert "s0" in browser.page_source and "Architecture arithmetic" in browser.page_source
        logs = browser.get_log("browser")
        assert not [entry for entry in logs if entry.get("level") == "SEVERE"], logs
    finally:
        server.stop()
    print("\nbrowser: status seen " + " -> ".join(dict.fromkeys(s.split(":")[0].split("…")[0] for s in seen)))
