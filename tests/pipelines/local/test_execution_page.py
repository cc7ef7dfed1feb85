"""The execution page: written beside the record, self-contained, and what a browser shows.

The browser tests drive Debian's Chromium (/usr/bin/chromium) through playwright; each keeps
a screenshot in its pytest tmp dir (printed with -s).
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from pipelines.local.execution_page import page_path, write_execution_page

from . import ending_records as r

CHROMIUM = "/usr/bin/chromium"


def _write(execution) -> Path:
    return write_execution_page(execution, r.graph(), r.PARAMETERS, r.digest(execution))


def test_the_page_lies_beside_the_record_and_needs_no_network(tmp_path):
    path = _write(r.succeeded(tmp_path))
    assert path == page_path(tmp_path, "abc") == tmp_path / "executions" / "abc.html"
    text = path.read_text()
    assert not re.findall(r'(?:src|href)="(?!data:|#|\.\.?/|[\w.-]+/)', text)
    assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in text
    assert not list(path.parent.glob("*.tmp*"))


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no {CHROMIUM}: apt-get install chromium (Debian's package) to run the "
                    "page's browser tests")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        chromium.close()


def _open(browser, path: Path, requests: list[str]):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.route("http*://**", lambda route: (requests.append(route.request.url),
                                            route.abort()))
    page.goto(path.as_uri())
    return page


@pytest.mark.integration
@pytest.mark.parametrize("ending", [r.succeeded, r.fail_step, r.failed_step],
                         ids=["succeeded", "fail_step", "failed_step"])
def test_the_graph_and_the_table_show_every_step_and_its_status(browser, tmp_path, ending):
    execution = ending(tmp_path)
    requests: list[str] = []
    page = _open(browser, _write(execution), requests)
    screenshot = tmp_path / f"execution-page-{ending.__name__}.png"
    page.screenshot(path=str(screenshot), full_page=True)
    print(f"screenshot: {screenshot}")
    assert page.locator("#execution-status").inner_text() == execution.status
    for name, record in execution.steps.items():
        node = page.locator(f'#graph g.node[data-step="{name}"]')
        assert node.get_attribute("data-status") == record.status
        assert node.locator(".node-name").text_content() == name
        assert node.locator(".node-status").text_content() == record.status
        assert node.is_visible()
        row = page.locator(f'#steps tr.step[data-step="{name}"]')
        assert row.locator("td").nth(0).inner_text() == name
        assert row.locator(".badge").inner_text() == record.status
    assert page.locator("#graph path.edge").count() == sum(
        len(step.depends_on) for step in r.graph().steps.values())
    assert requests == []
    assert screenshot.stat().st_size > 10_000
    page.close()


@pytest.mark.integration
def test_success_shows_the_plot_the_parameters_and_how_to_approve(browser, tmp_path):
    page = _open(browser, _write(r.succeeded(tmp_path)), [])
    plot = page.locator("#plots img")
    assert plot.count() == 1
    assert plot.evaluate("image => image.naturalWidth") > 0
    assert "Evaluate: residuals.png" in page.locator("#plots").inner_text()
    assert "model-registry approve DemoGroup/3" in page.locator("#outcome").inner_text()
    assert "InputDataUrl" in page.locator("#parameters").inner_text()
    links = {a.inner_text(): a.get_attribute("href")
             for a in page.locator('#steps tr.step[data-step="Evaluate"] a').all()}
    assert (tmp_path / "executions" / links["evaluation"]).resolve() == \
        tmp_path / "bucket" / "Demo" / "abc" / "Evaluate" / "evaluation"
    model = page.locator('#steps tr.step[data-step="Register"] a', has_text="model")
    assert (tmp_path / "executions" / model.get_attribute("href")).resolve() == \
        tmp_path / "bucket" / "Demo" / "Train" / "output" / "model.tar.gz"
    page.close()


@pytest.mark.integration
def test_a_failed_step_links_its_log(browser, tmp_path):
    page = _open(browser, _write(r.failed_step(tmp_path)), [])
    link = page.locator('#steps tr.step[data-step="Prepare"] a', has_text="log")
    target = (tmp_path / "executions" / link.get_attribute("href")).resolve()
    assert target == tmp_path / "jobs" / "abc" / "Prepare" / "job.log"
    page.goto(target.as_uri())
    assert "target column 'price' not found" in page.locator("body").inner_text()
    page.close()


def test_a_copied_root_keeps_its_links(tmp_path):
    _write(r.failed_step(tmp_path / "first"))
    shutil.copytree(tmp_path / "first", tmp_path / "copy")
    text = (tmp_path / "copy" / "executions" / "abc.html").read_text()
    assert 'href="../jobs/abc/Prepare/job.log"' in text
    assert str(tmp_path) not in text.split("<pre>")[0]
