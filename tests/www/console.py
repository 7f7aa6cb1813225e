"""Shared helpers of the browser tests: Debian's chromium driven by its
chromedriver through python3-selenium, headless, against the stack that
tests/lib/with-api.sh starts.  Every page's console log is read, and a
SEVERE entry (a script error, a CSP violation, a failed load) fails the
check unless the step expected it (an answer the test provoked)."""
import os
import re
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api"))
from apitest import URL, check  # noqa: E402

CHROMIUM = os.environ.get("PGSCHED_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("PGSCHED_CHROMEDRIVER",
                              "/usr/bin/chromedriver")
SHOTS = os.path.join(os.environ.get("PGSCHED_BUILDDIR", "."), "tests",
                     "www", "screenshots")
WIDTH = 1280


def skip_without_browser():
    """Exits 77 (skipped) when no browser can be driven here."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p,
                                                                    os.X_OK)]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("python3-selenium")
    if missing:
        print("SKIP: no browser (%s); scripts/deps.sh installs chromium, "
              "chromium-driver and python3-selenium" % ", ".join(missing))
        sys.exit(77)


class Browser:
    """One headless Chromium with a fresh profile (its own cookies and
    local storage) and its own download directory."""

    def __init__(self, name):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="chromium-%s-" % name,
                                    dir=os.environ.get("PGSCHED_TEST_TMP"))
        self.downloads = os.path.join(self.dir, "downloads")
        os.makedirs(self.downloads)
        o = webdriver.ChromeOptions()
        o.binary_location = CHROMIUM
        # Without the background-networking flags Chromium tries to reach
        # its services, which a closed network refuses.
        for a in ("--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-quic", "--no-first-run",
                  "--disable-background-networking",
                  "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--force-device-scale-factor=1",
                  "--user-data-dir=" + os.path.join(self.dir, "profile"),
                  "--window-size=%d,900" % WIDTH):
            o.add_argument(a)
        o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=o)
        self.d.set_page_load_timeout(60)
        self.d.execute_cdp_cmd("Browser.setDownloadBehavior",
                               {"behavior": "allow",
                                "downloadPath": self.downloads})

    def quit(self):
        try:
            self.d.quit()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def get(self, path):
        self.d.get(URL + path)

    def css(self, sel):
        from selenium.webdriver.common.by import By
        return self.d.find_element(By.CSS_SELECTOR, sel)

    def all(self, sel):
        from selenium.webdriver.common.by import By
        return self.d.find_elements(By.CSS_SELECTOR, sel)

    def js(self, script, *args):
        return self.d.execute_script(script, *args)

    def wait(self, what, cond, timeout=60):
        """Waits for cond(driver) to be true; a timeout is one failed
        check named what, and raises."""
        from selenium.common.exceptions import (
            NoSuchElementException, StaleElementReferenceException)
        from selenium.webdriver.support.ui import WebDriverWait
        try:
            # A page that changes under the condition is looked at again.
            return WebDriverWait(self.d, timeout, poll_frequency=0.1,
                                 ignored_exceptions=(
                                     NoSuchElementException,
                                     StaleElementReferenceException)) \
                .until(lambda d: cond(d))
        except Exception:
            check("%s: %s" % (self.name, what), False,
                  "timed out on %s" % self.d.current_url)
            raise

    def text(self, sel):
        els = self.all(sel)
        return els[0].text if els else None

    def wait_text(self, sel, pattern, timeout=60):
        """Waits until the element sel shows text matching pattern."""
        return self.wait("%s shows /%s/" % (sel, pattern), lambda d:
                         re.search(pattern, self.text(sel) or ""), timeout)

    def errors(self, allowed=()):
        """The SEVERE console entries since the last call, but those
        matching one of the allowed patterns."""
        return [e["message"] for e in self.d.get_log("browser")
                if e["level"] == "SEVERE" and
                not any(re.search(a, e["message"]) for a in allowed)]

    def clean_console(self, step, allowed=()):
        bad = self.errors(allowed)
        check("%s: no console errors on %s" % (self.name, step), not bad,
              bad)

    def shot(self, name):
        """A full-page screenshot into SHOTS/<name>.png."""
        os.makedirs(SHOTS, exist_ok=True)
        h = self.js("window.scrollTo(0, 0);"
                    "return document.documentElement.scrollHeight")
        self.d.set_window_size(WIDTH, min(max(int(h) + 120, 900), 6000))
        # Two frames: the layout at the new size is painted.
        self.d.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "requestAnimationFrame(() => requestAnimationFrame(done));")
        path = os.path.join(SHOTS, name + ".png")
        ok = self.d.save_screenshot(path)
        self.d.set_window_size(WIDTH, 900)
        check("screenshot %s" % name, ok and os.path.getsize(path) > 5000,
              path)

    def login(self, role, password):
        self.get("/login.html")
        self.wait("log-in form", lambda d: self.all("#login"))
        self.css("input[name=email]").send_keys(role + "@example.com")
        self.css("input[name=password]").send_keys(password + "\n")
        self.wait("logged in as " + role, lambda d:
                  (self.text("#who") or "").startswith(role + "@"))


def colour_pixels(b, canvas="#chart"):
    """[colour, pixels of that colour in the chart's plot area, columns of
    the plot area that hold some]: the chart is drawn when both are
    large."""
    return b.js("""
        const c = document.querySelector(arguments[0]);
        const chart = Chart.getChart(c);
        const want = getComputedStyle(document.documentElement)
            .getPropertyValue('--chart').trim();
        const rgb = [1, 3, 5].map((i) => parseInt(want.slice(i, i + 2), 16));
        const k = c.width / c.clientWidth, a = chart.chartArea;
        const x0 = Math.floor(a.left * k), y0 = Math.floor(a.top * k);
        const w = Math.floor((a.right - a.left) * k);
        const h = Math.floor((a.bottom - a.top) * k);
        const d = c.getContext('2d').getImageData(x0, y0, w, h).data;
        let n = 0; const cols = new Set();
        for (let i = 0; i < d.length; i += 4)
            if (d[i] === rgb[0] && d[i + 1] === rgb[1] &&
                d[i + 2] === rgb[2] && d[i + 3] === 255) {
                n++;
                cols.add((i / 4) % w);
            }
        return [want, n, cols.size, w];
    """, canvas)
