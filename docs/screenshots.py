"""Take the README's registry screenshots with Playwright and Debian chromium.

Run: ``make screenshots`` (writes docs/images/registry-*.png from the synthetic demo cohort).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root
from tests.browser import CHROMIUM_ARGS

OUT = Path(__file__).resolve().parent / "images"
PASSWORD = "screenshot-password-1"


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="cpstem-shots-"))
    env = {k: v for k, v in os.environ.items() if k != "CPSTEM_DATABASE_URL"} | {
        "CPSTEM_DATA_DIR": str(folder)
    }
    cpstem = str(Path(sys.executable).parent / "cpstem")
    subprocess.run([cpstem, "demo", "load"], env=env, check=True, capture_output=True)
    subprocess.run(
        [
            cpstem,
            "user",
            "create",
            "dr.nowak",
            "--role",
            "clinician",
            "--site",
            "DEMO-N",
            "--password-stdin",
        ],
        input=PASSWORD,
        text=True,
        env=env,
        check=True,
        capture_output=True,
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [cpstem, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(base + "/accounts/login/", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        OUT.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS
            )
            page = browser.new_page(viewport={"width": 1024, "height": 1300}, device_scale_factor=1)
            page.goto(base + "/accounts/login/")
            page.fill("#id_username", "dr.nowak")
            page.fill("#id_password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url("**/patients/")
            # the demo patient with the longest follow-up
            best, rows = None, -1
            for link in page.locator("tbody a").all()[:30]:
                href = link.get_attribute("href")
                sub = browser.new_page()
                sub.context.add_cookies(page.context.cookies())
                sub.goto(base + href)
                n = sub.locator("#trajectory tbody tr").count()
                sub.close()
                if n > rows:
                    best, rows = href, n
            page.goto(base + best)
            page.wait_for_function("document.querySelector('#trajectory img').naturalWidth > 0")
            page.screenshot(path=OUT / "registry-patient.png", full_page=False)
            page.locator("#trajectory").screenshot(path=OUT / "registry-trajectory.png")
            page.goto(base + best + "gmfm88/new/")
            page.screenshot(path=OUT / "registry-gmfm88.png")
            page.goto(base + "/dashboard/")
            page.wait_for_function(
                "[...document.querySelectorAll('main img')].every(i => i.naturalWidth > 0)"
            )
            page.screenshot(path=OUT / "registry-dashboard.png", full_page=False)
            browser.close()
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(folder, ignore_errors=True)
    print(f"Wrote {', '.join(sorted(p.name for p in OUT.glob('registry-*.png')))} to {OUT}")


if __name__ == "__main__":
    main()
