"""`ucgen report` as a reader sees it in chromium: its sections in order, every image
decoded by the browser, and the same page for every method."""

from __future__ import annotations

import shutil

import pytest

from ucgen.cli.main import main

SECTIONS = ["trained", "headline", "codes", "training", "metrics"]


def _report(run, tmp_path, *extra: str):
    """Write the report, then copy the whole run folder elsewhere, as a reader who was sent
    it would open it: the page must not depend on where it was made."""
    assert main(["report", str(run), *extra]) == 0
    copy = shutil.copytree(run, tmp_path / "copied" / run.name)
    return (copy / "report" / "index.html").as_uri()


def _broken_images(browser) -> list[str]:
    """Images the browser could not decode (a missing file or a damaged data URI)."""
    return browser.execute_script(
        "return Array.from(document.images)"
        ".filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.alt)"
    )


def _section_order(browser) -> list[str]:
    return browser.execute_script(
        "return Array.from(document.querySelectorAll('body > section')).map(s => s.id)"
    )


def test_cofi_report_reads_top_to_bottom(browser, tiny_runs, tmp_path):
    from selenium.webdriver.common.by import By

    browser.get(_report(tiny_runs["cofi"], tmp_path, "--compare", str(tiny_runs["uncond"])))
    order = _section_order(browser)
    assert [s for s in order if s in SECTIONS] == SECTIONS
    assert order.index("fine") == order.index("codes") + 1
    trained = browser.find_element(By.ID, "trained").text
    assert "shapes, at 16 px" in trained and "cofi" in trained
    assert "ucgen train --config" in trained
    stages = browser.find_elements(By.CSS_SELECTOR, "table.stages tr")
    assert [r.text.split()[:2] for r in stages[1:]] == [["stage1", "4"], ["diffusion", "4"]]
    assert "Python" in trained and "cores" in trained  # the machine, from run.json

    # Headline figures: this run's FD beside the compared baseline's, with how to read it.
    fd = browser.find_element(By.CSS_SELECTOR, "table.headline tr[data-id=fd]")
    cells = fd.find_elements(By.TAG_NAME, "td")
    assert len(cells) == 3 and "lower is better" in cells[-1].text
    assert float(cells[0].text) > 0 and float(cells[1].text) > 0
    header = browser.find_element(By.CSS_SELECTOR, "table.headline tr").text
    assert "uncond (uncond)" in header

    # One row per code, largest first, each with generated images.
    rows = browser.find_elements(By.CSS_SELECTOR, "table.codes tr[data-code]")
    assert len(rows) == 4  # 2 bits
    sizes = [int(r.find_elements(By.TAG_NAME, "td")[0].text.split()[0]) for r in rows]
    assert sizes == sorted(sizes, reverse=True) and sum(sizes) > 0
    for row in rows:
        assert row.find_elements(By.CSS_SELECTOR, "img[alt^='generated images of code']")

    # Fine control: 7-image traversal strips and one flip per bit, labelled.
    captions = [c.text for c in browser.find_elements(By.CSS_SELECTOR, "#fine figcaption")]
    assert any("direction 0" in c for c in captions)
    assert sum(c.startswith("bit ") for c in captions) == 2

    # Training: one small-multiples figure per stage; previews collapsed until opened.
    assert len(browser.find_elements(By.CSS_SELECTOR, "#training > figure img")) == 2
    previews = browser.find_element(By.ID, "previews")
    assert previews.get_attribute("open") is None
    preview = previews.find_element(By.TAG_NAME, "img")
    assert not preview.is_displayed()
    previews.find_element(By.TAG_NAME, "summary").click()
    assert preview.is_displayed()

    assert _broken_images(browser) == []
    metrics = browser.find_element(By.CSS_SELECTOR, "table.metrics").text
    assert "generation.fd" in metrics and "bit_recovery" in metrics


@pytest.mark.parametrize("method", ["uncond", "labels"])
def test_every_method_gets_the_page_its_parts_allow(browser, tiny_runs, tmp_path, method):
    from selenium.webdriver.common.by import By

    browser.get(_report(tiny_runs[method], tmp_path))
    order = _section_order(browser)
    assert [s for s in order if s in SECTIONS] == SECTIONS
    assert "fine" not in order  # neither has a fine vector
    codes = browser.find_element(By.ID, "codes")
    if method == "uncond":
        assert codes.find_element(By.CSS_SELECTOR, "img[alt=samples]").is_displayed()
    else:  # label codes, but no encoder to put real images in them
        rows = codes.find_elements(By.CSS_SELECTOR, "tr[data-code]")
        assert len(rows) == 4 and all("none" in r.text for r in rows)
    assert browser.find_element(By.CSS_SELECTOR, "table.headline tr[data-id=fd]")
    assert _broken_images(browser) == []


def test_a_run_whose_model_cannot_load_says_why(browser, tiny_runs, tmp_path):
    from selenium.webdriver.common.by import By

    run = shutil.copytree(tiny_runs["cofi"], tmp_path / "broken")
    shutil.rmtree(run / "checkpoints" / "diffusion")
    browser.get(_report(run, tmp_path))
    note = browser.find_element(By.CSS_SELECTOR, "#codes .note").text
    assert "cannot be loaded" in note and "unfinished run" in note
    assert _broken_images(browser) == []
