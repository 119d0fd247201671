"""The live page in a real browser: headless Chromium (Debian's `chromium` package, which .ci/run installs)
driven by Playwright, against `nnlearn watch CONFIG --serve` itself: one server and one browser for five
checks in a row (one test, so that they share them whichever process runs it). A missing Chromium fails
the test: skipping it would hide a broken page."""

import difflib
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading

import pytest
from playwright.sync_api import expect  # its waits run beside the page's scripts, whatever the page's CSP

from tests.conftest import MOONS, ctrl_c_as_a_terminal_leaves_it, edited

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGUMENTS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                      "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SECONDS = 120_000  # Playwright's waits are in milliseconds: generous, as a busy machine trains slowly


@pytest.fixture
def served(tmp_path):
    """`nnlearn watch moons.yaml --serve --port 0 --no-browser` in the test's folder: (address, config)."""
    config = tmp_path / "moons.yaml"
    config.write_text(MOONS)
    process = subprocess.Popen([sys.executable, "-m", "nnlearn", "watch", str(config), "--serve", "--port", "0",
                                "--no-browser", "--quiet"], cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True,
                               preexec_fn=ctrl_c_as_a_terminal_leaves_it)
    watchdog = threading.Timer(600, process.kill)  # never hangs the suite
    watchdog.start()
    try:
        line = process.stdout.readline()
        assert line.startswith("Live page: "), line
        threading.Thread(target=process.stdout.read, daemon=True).start()  # keeps its output flowing
        yield line.split()[-1], config
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(60)
        finally:
            watchdog.cancel()
            process.kill()


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    assert os.path.exists(CHROMIUM), f"{CHROMIUM} is missing: apt-get install chromium (.ci/run installs it)"
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        context = playwright.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, headless=True,
                                                                args=CHROMIUM_ARGUMENTS,
                                                                viewport={"width": 1280, "height": 800})
        yield context
        context.close()


class Opened:
    """A browser tab on the live page, recording every console message, page error and request."""

    def __init__(self, browser, address: str):
        self.tab = browser.new_page()
        self.messages, self.requests = [], []
        self.tab.on("console", lambda message: self.messages.append(f"{message.type}: {message.text}"))
        self.tab.on("pageerror", lambda error: self.messages.append(f"page error: {error}"))
        self.tab.on("request", lambda request: self.requests.append(request.url))
        self.tab.goto(address)
        self.wait_until_waiting()

    def wait_until_waiting(self) -> None:
        """Until the page says the watcher waits for a save (every run so far has ended)."""
        expect(self.tab.locator("#status")).to_have_text("waiting for a save", timeout=SECONDS)

    def runs(self) -> int:
        return self.tab.locator("#runs li").count()

    def problems(self) -> list[str]:
        return [message for message in self.messages if not message.startswith(("log:", "info:", "debug:"))]


def check_the_page_loads_with_no_console_errors_and_nothing_from_elsewhere(opened: Opened, served: tuple) -> None:
    tab = opened.tab
    assert tab.locator("svg[data-name^='loss'] polyline.curve.training.current").count() == 1
    assert tab.locator("#boundary path.boundary").count() == 1  # the decision boundary of two features
    assert tab.locator("#units figure").count() == 16  # each first-layer unit's picture
    assert tab.locator("#verdict-box").count() == 1 and "no learning" in tab.locator("#metrics").inner_text()
    assert tab.locator("#editor").input_value() == served[1].read_text()
    assert opened.problems() == []
    origin = served[0].split("/?")[0]
    assert [url for url in opened.requests if not url.startswith((origin, "data:"))] == []


def check_the_curves_grow_during_training(opened: Opened, served: tuple) -> None:
    tab, config = opened.tab, served[1]
    config.write_text(edited(MOONS, ("epochs: 6", "epochs: 300")))  # a save from the learner's own editor
    expect(tab.locator("#status")).to_have_text(re.compile("^training"), timeout=SECONDS)
    seen = []
    curve = "svg[data-name^='loss'] polyline.curve.training.current"
    while tab.locator("#status").text_content().startswith("training"):
        points = tab.locator(curve).get_attribute("data-points") if tab.locator(curve).count() else None
        if points and (not seen or int(points) != seen[-1]):
            seen.append(int(points))
        tab.wait_for_timeout(50)
    opened.wait_until_waiting()
    assert len(seen) >= 3 and seen == sorted(seen), seen  # drawn while it trained, more epochs each time
    assert tab.locator(curve).get_attribute("data-points") == "300"
    assert tab.locator("#editor").input_value() == config.read_text()  # the editor follows the file
    assert opened.problems() == []


def check_an_edit_in_the_page_retrains_and_the_new_run_appears(opened: Opened, served: tuple) -> None:
    tab, config = opened.tab, served[1]
    before = opened.runs()
    text = edited(MOONS, ("learning_rate: 0.01", "learning_rate: 0.02"))
    tab.fill("#editor", text)
    tab.press("#editor", "Control+s")
    expect(tab.locator("#runs li")).to_have_count(before + 1, timeout=SECONDS)
    opened.wait_until_waiting()
    assert config.read_text() == text
    assert tab.locator("#runs li.current").count() == 1 and tab.locator("#runs li").last.get_attribute("class") == \
        "current"
    assert tab.locator("svg[data-name^='loss'] polyline.curve.earlier").count() >= 1  # the earlier runs, overlaid
    assert "compile.optimizer.learning_rate" in tab.locator("#changes").inner_text()
    assert opened.problems() == []


def check_an_invalid_edit_shows_its_error_and_leaves_the_file_as_it_was(opened: Opened, served: tuple) -> None:
    tab, config = opened.tab, served[1]
    before = config.read_bytes()
    invalid = edited(MOONS, ("units: 16", "units: -3"))
    tab.fill("#editor", invalid)
    tab.click("#save")
    expect(tab.locator("#problems .problems")).to_have_count(1, timeout=SECONDS)
    problems = tab.locator("#problems").inner_text()
    assert "Not saved" in problems and "line 5" in problems and "model.layers[0].units" in problems
    assert tab.locator("#gutter span").nth(4).get_attribute("class") == "error"
    assert "the file is as it was" in tab.locator("#save-note").inner_text()
    assert config.read_bytes() == before
    assert tab.locator("#status").text_content() == "waiting for a save"  # nothing was saved, nothing retrains


def check_a_control_changes_the_yaml_at_its_line(opened: Opened, served: tuple) -> None:
    tab, config = opened.tab, served[1]
    before = config.read_text()
    units = before.splitlines()[4]
    assert "units: 16" in units
    more = tab.locator("button[aria-label='layer 0 more units']")
    more.click()
    expect(tab.locator("#control-note")).to_have_text("line 5: model.layers[0].units: 16 → 17", timeout=SECONDS)
    assert tab.locator("#gutter span").nth(4).get_attribute("class") == "changed"
    more.click()  # the control now starts from the edited text, not from the file still being saved
    expect(tab.locator("#control-note")).to_have_text("line 5: model.layers[0].units: 17 → 18", timeout=SECONDS)
    expect(tab.locator("#save-note")).to_have_text(re.compile("^saved"), timeout=SECONDS)
    after = config.read_text()
    diff = [line for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line[:1] in "+-"]
    assert diff == [f"- {units}", f"+ {units.replace('units: 16', 'units: 18')}"]
    opened.wait_until_waiting()
    assert tab.locator("#units figure").count() == 16
    tab.fill("#editor", edited(after, ("units: 18", "units: 30")))  # typed, then a click before a pause
    more.click()
    expect(tab.locator("#control-note")).to_have_text("line 5: model.layers[0].units: 30 → 31", timeout=SECONDS)
    for _ in range(600):  # saved half a second after the click
        if "units: 31" in config.read_text():
            break
        tab.wait_for_timeout(100)
    assert "units: 31" in config.read_text()
    opened.wait_until_waiting()
    assert opened.problems() == []


@pytest.mark.tensorflow
@pytest.mark.browser
def test_the_live_page_in_a_real_browser(browser, served):
    """One server and one browser for the five checks, in this order (each starts from what the one before
    left): the page loads cleanly; its curves grow while a save from the learner's own editor trains; an
    edit saved in the page retrains; an invalid one is refused; a control edits the YAML at its line."""
    opened = Opened(browser, served[0])
    check_the_page_loads_with_no_console_errors_and_nothing_from_elsewhere(opened, served)
    check_the_curves_grow_during_training(opened, served)
    check_an_edit_in_the_page_retrains_and_the_new_run_appears(opened, served)
    check_an_invalid_edit_shows_its_error_and_leaves_the_file_as_it_was(opened, served)
    runs = opened.runs()
    opened.tab.close()
    reopened = Opened(browser, served[0])  # a page closed and opened again shows the session where it is
    assert reopened.runs() == runs and reopened.tab.locator("#editor").input_value() == served[1].read_text()
    check_a_control_changes_the_yaml_at_its_line(reopened, served)
