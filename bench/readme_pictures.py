"""The README's pictures of a trained run: samples per code, a traversal and a bit flip (the
PNGs `ucgen demo` draws, copied), and headless-chromium screenshots of its report and of the
explorer with a slider moved and an image dropped in.

    PYTHONPATH=src python bench/readme_pictures.py runs/demo --out docs/img

Needs the run's report (`ucgen report RUN`), Selenium, /usr/bin/chromium and
/usr/bin/chromedriver. Run by hand.
"""

from __future__ import annotations

import argparse
import shutil
import threading
from pathlib import Path

from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

from ucgen.app.trained import TrainedModel
from ucgen.data import load_dataset
from ucgen.serve.app import serve
from ucgen.serve.explorer import Explorer


def browser(width: int, height: int) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    options.add_argument(f"--window-size={width},{height}")
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def shrink(path: Path) -> None:
    """A screenshot as a 64-colour palette PNG: a README picture, a fraction of the bytes."""
    Image.open(path).convert("RGB").quantize(64).save(path, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--out", type=Path, default=Path("docs/img"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, target in [
        ("codes.png", "demo-codes.png"),
        ("traverse-c0.png", "demo-traverse.png"),
        ("flip-c0-b0.png", "demo-flip.png"),
    ]:
        shutil.copyfile(args.run / "samples" / name, args.out / target)

    driver = browser(1100, 1900)
    driver.get((args.run / "report" / "index.html").resolve().as_uri())
    driver.save_screenshot(str(args.out / "report.png"))
    driver.quit()
    shrink(args.out / "report.png")

    model = TrainedModel.load(args.run, device="cpu")
    server = serve(Explorer(model), "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    driver = browser(1300, 900)
    wait = WebDriverWait(driver, 60)
    driver.get(f"http://127.0.0.1:{server.port}/")
    wait.until(lambda d: d.find_element("id", "image").get_attribute("src"))
    slider = driver.find_element("id", "fine-0")
    driver.execute_script(
        "arguments[0].value = 2; arguments[0].dispatchEvent(new Event('input'));", slider
    )
    wait.until(lambda d: "direction 0 at +2σ" in d.find_element("id", "rendered").text)
    real = load_dataset(model.config.data.source, "test", model.image_shape[1]).images[0]
    dropped = args.out / "dropped.png"
    Image.fromarray(real[..., 0] if real.shape[-1] == 1 else real).save(dropped)
    driver.find_element("id", "upload").send_keys(str(dropped.resolve()))
    wait.until(lambda d: d.find_element("id", "upload-result").is_displayed())
    dropped.unlink()
    driver.save_screenshot(str(args.out / "explorer.png"))
    driver.quit()
    shrink(args.out / "explorer.png")
    server.shutdown()
    for path in sorted(args.out.iterdir()):
        print(f"{path} {path.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main()
