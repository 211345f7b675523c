"""`ucgen serve` in chromium: pick a code, move a slider, toggle a bit and see the image
change; drop an image and see its code and variations; bad input shows a message and the
server keeps answering. The server binds 127.0.0.1 on a free port only."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import numpy as np
import pytest
from PIL import Image

from tests.browser.conftest import WAIT_S, start_server


@pytest.fixture(scope="module")
def explorer(tiny_runs):
    url, server = start_server(tiny_runs["cofi"])
    yield url
    server.shutdown()
    server.server_close()


def _wait(browser, condition, timeout: float = WAIT_S):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout).until(condition)


def _image(browser, element_id: str) -> str:
    return browser.find_element("id", element_id).get_attribute("src") or ""


def _changed(browser, element_id: str, before: str):
    return _wait(browser, lambda b: _image(b, element_id) not in ("", before))


def _set_range(browser, element, value: float) -> None:
    """Move a slider as a user does: its value changes and an input event fires."""
    browser.execute_script(
        "arguments[0].value = arguments[1];"
        "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));",
        element,
        value,
    )


def _loaded(browser, url: str) -> None:
    browser.get(url)
    _wait(browser, lambda b: len(b.find_elements("css selector", "#gallery button")) == 4)
    _wait(browser, lambda b: _image(b, "image").startswith("data:image/png"))


def test_sliders_bits_and_gallery_change_the_image(browser, explorer):
    _loaded(browser, explorer)
    assert browser.find_element("id", "error").text == ""
    assert _image(browser, "nearest").startswith("data:image/png")
    # The run has no distilled student: its HM-UNet draws at the page's steps and guidance.
    _wait(
        browser, lambda b: b.find_element("id", "drawn-by").text.startswith("drawn by diffusion:")
    )
    first = _image(browser, "image")

    chosen = browser.find_element("css selector", "#gallery button.chosen")
    code = int(chosen.get_attribute("data-code"))

    # A tiny model barely uses its fine vector, so the slider is checked by what the server
    # rendered: the image was redrawn for the slider's position, which the server reports.
    version = browser.find_element("id", "image").get_attribute("data-version")
    _set_range(browser, browser.find_element("id", "fine-0"), 3)
    _wait(browser, lambda b: "direction 0 at +3σ" in b.find_element("id", "rendered").text)
    assert browser.find_element("id", "image").get_attribute("data-version") != version
    assert browser.find_element("id", "fine-0-value").text == "3"
    assert browser.find_element("id", "rendered").text.startswith(f"code {code},")

    # A bit flip changes the code, and the image with it.
    moved = _image(browser, "image")
    browser.find_element("css selector", "input.bit[data-bit='0']").click()
    flipped = _changed(browser, "image", moved)
    assert browser.find_element("id", "code-label").text == f"code {code ^ 1}"
    assert browser.find_element("id", "rendered").text.startswith(f"code {code ^ 1},")
    assert flipped != first

    other = next(
        b
        for b in browser.find_elements("css selector", "#gallery button")
        if int(b.get_attribute("data-code")) not in (code, code ^ 1)
    )
    other.click()
    _wait(browser, lambda b: "chosen" in other.get_attribute("class"))
    target = int(other.get_attribute("data-code"))
    _wait(browser, lambda b: b.find_element("id", "code-label").text == f"code {target}")
    checked = [
        int(b.get_attribute("data-bit"))
        for b in browser.find_elements("css selector", "input.bit")
        if b.is_selected()
    ]
    assert sum(1 << i for i in checked) == target  # the toggles show the chosen code's bits


def test_an_uploaded_image_gets_its_code_and_variations(browser, explorer, tmp_path):
    _loaded(browser, explorer)
    picture = tmp_path / "mine.png"
    pixels = np.zeros((40, 40, 3), np.uint8)
    pixels[8:32, 8:32] = (220, 40, 40)
    Image.fromarray(pixels).save(picture)
    browser.find_element("id", "upload").send_keys(str(picture))
    _wait(browser, lambda b: b.find_element("id", "upload-result").is_displayed())
    assert browser.find_element("id", "upload-code").text in {"0", "1", "2", "3"}
    assert browser.find_element("id", "nearest-codes").text != ""
    width = browser.execute_script("return document.getElementById('variations').naturalWidth")
    height = browser.execute_script("return document.getElementById('variations').naturalHeight")
    assert width > 3 * height  # a strip of 4 variations
    assert browser.find_element("id", "error").text == ""


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [("steps", "0", "steps must be in [1, 200]"), ("seed", "-5", "seed must be in")],
)
def test_out_of_range_settings_show_a_message(browser, explorer, field, value, words):
    _loaded(browser, explorer)
    box = browser.find_element("id", field)
    box.clear()
    box.send_keys(value)
    browser.find_element("id", "guidance").click()  # leaving the box fires its change event
    _wait(browser, lambda b: words in b.find_element("id", "error").text)
    box.clear()
    box.send_keys("1")
    browser.find_element("id", "guidance").click()
    _wait(browser, lambda b: b.find_element("id", "error").text == "")  # still serving


def test_a_file_that_is_not_an_image_shows_a_message(browser, explorer, tmp_path):
    _loaded(browser, explorer)
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    browser.find_element("id", "upload").send_keys(str(text))
    _wait(browser, lambda b: "not an image" in b.find_element("id", "error").text)


def _post(url: str, body: bytes, content_type: str) -> tuple[int, dict]:
    request = urllib.request.Request(url, body, {"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=WAIT_S) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_bad_requests_get_clear_errors_and_reach_no_file(explorer):
    render = explorer + "api/render"
    assert _post(render, b'{"code": 99}', "application/json") == (
        400,
        {"error": "code must be in [0, 3], got 99"},
    )
    status, body = _post(render, b'{"code": 0, "fine": [9]}', "application/json")
    assert status == 400 and "fine[0] must be in [-3, 3]" in body["error"]
    status, body = _post(render, b"[1]", "application/json")
    assert status == 400 and "JSON object" in body["error"]
    big = b"--x\r\nContent-Disposition: form-data; name=image; filename=a.png\r\n\r\n"
    big += b"\0" * (5 * 2**20) + b"\r\n--x--\r\n"
    status, body = _post(explorer + "api/upload", big, "multipart/form-data; boundary=x")
    assert status == 413 and "larger than 4 MB" in body["error"]
    for path in ("../config.json", "static/../../config.json", "api/../../eval.json"):
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(explorer + path, timeout=WAIT_S)
        assert err.value.code == 404
    status, body = _post(render, b'{"code": 1, "fine": [0.5], "seed": 3}', "application/json")
    assert status == 200 and body["code"] == 1  # the server kept running
