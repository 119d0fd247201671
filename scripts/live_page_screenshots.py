"""Screenshots of the live page (`nnlearn watch CONFIG --serve`) at a laptop's and a phone's size, taken in
headless Chromium (Debian's chromium package) with Playwright, as the README's picture is made:

    python scripts/live_page_screenshots.py configs/moons_mlp.yaml docs/images/live_page \
        --then "learning_rate: 0.01" "learning_rate: 0.003"

It copies CONFIG into a temporary folder, serves it, waits for the first run to end, optionally saves one
edit (OLD NEW: the text replaced, as a learner's save) and waits for that run too (or, with --training,
shoots while it trains), then writes PREFIX-1280x800.png and PREFIX-390x844.png (PREFIX-...-full.png:
the whole page). Prints any console message the page logged.
"""

from __future__ import annotations

import argparse
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGUMENTS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SIZES = [(1280, 800), (390, 844)]


def shoot(address: str, config: Path, options) -> list[str]:
    from playwright.sync_api import expect, sync_playwright

    messages: list[str] = []
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        browser = playwright.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, headless=True,
                                                                args=ARGUMENTS)
        tab = browser.new_page()
        tab.on("console", lambda message: messages.append(f"{message.type}: {message.text}"))
        tab.on("pageerror", lambda error: messages.append(f"page error: {error}"))
        status = tab.locator("#status")
        tab.goto(address)
        expect(status).to_have_text("waiting for a save", timeout=300_000)
        if options.then:
            old, new = options.then
            runs = tab.locator("#runs li").count()
            config.write_text(config.read_text().replace(old, new))
            if options.training:  # a run long enough to be seen training
                expect(status).to_have_text(re.compile("^training"), timeout=60_000)
                tab.wait_for_timeout(options.training * 1000)
            else:  # until that run has ended, or the save was refused (status: the saved config has problems)
                for _ in range(3000):
                    if tab.locator("#runs li").count() > runs or status.text_content().startswith("the saved"):
                        break
                    tab.wait_for_timeout(100)
                expect(status).not_to_have_text(re.compile("^training"), timeout=300_000)
        for width, height in SIZES:
            tab.set_viewport_size({"width": width, "height": height})
            tab.wait_for_timeout(400)
            tab.screenshot(path=f"{options.prefix}-{width}x{height}.png")
            tab.screenshot(path=f"{options.prefix}-{width}x{height}-full.png", full_page=True)
        browser.close()
    return messages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("prefix")
    parser.add_argument("--then", nargs=2, metavar=("OLD", "NEW"), help="save this edit after the first run")
    parser.add_argument("--training", type=float, metavar="SECONDS",
                        help="with --then: shoot this long after that run starts, while it trains")
    options = parser.parse_args()
    Path(options.prefix).parent.mkdir(parents=True, exist_ok=True)
    options.prefix = str(Path(options.prefix).resolve())
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / options.config.name
        shutil.copy(options.config, config)
        process = subprocess.Popen([sys.executable, "-m", "nnlearn", "watch", config.name, "--serve", "--port", "0",
                                    "--no-browser", "--quiet"], cwd=folder, stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, text=True)
        try:
            address = process.stdout.readline().split()[-1]
            messages = shoot(address, config, options)
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(60)
    print("\n".join(messages) or "no console messages")


if __name__ == "__main__":
    main()
