"""A real headless browser for the report and explorer tests: Debian's chromium driven by
Selenium through /usr/bin/chromedriver (never a downloaded browser or driver), and tiny
trained runs (cofi, uncond, labels) evaluated through the CLI, made once per session."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.tiny_runs import train_tiny
from ucgen.cli.main import main

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT_S = 30  # the longest a page may take to show what a test waits for


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """A headless chromium, or a skip saying what is missing (CI installs both)."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    from selenium.webdriver.chrome.service import Service

    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).is_file() or shutil.which(path) is None:
            pytest.skip(f"{path} is absent: apt-get install chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    options.add_argument("--window-size=1280,1600")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT_S)
    yield driver
    driver.quit()


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny runs of every method, each evaluated (eval.json) as a user would."""
    root = tmp_path_factory.mktemp("runs")
    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("UCGEN_CACHE", str(cache))
        runs = {}
        for method in ("cofi", "uncond", "labels"):
            runs[method] = train_tiny(root, method)
            assert main(["eval", str(runs[method])]) == 0
    return runs


def start_server(run: Path) -> tuple[str, object]:
    """The explorer of `run` on 127.0.0.1 at a free port, serving from a daemon thread;
    returns its URL and the server (shutdown() stops it)."""
    from ucgen.app.trained import TrainedModel
    from ucgen.serve.app import serve
    from ucgen.serve.explorer import Explorer

    server = serve(Explorer(TrainedModel.load(run, device="cpu")), "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.port}/", server
