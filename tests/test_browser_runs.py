"""The run widgets in real JupyterLab in headless Chromium: a notebook builds `RunComparison` over two trained tiny runs
and a `RunBrowser` over one; the metric plot renders with both runs, choosing another metric in the menu redraws it,
and the browser's button opens the sample in a DepthExplorer. Screenshots go to tests/artifacts/. The server is
stopped by its PID."""
import json, re, time
from pathlib import Path
import pytest
from test_browser import CHROMIUM, accept_dialog, jupyter_lab, run_all_cells
from test_runs import trained_runs

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason="Debian chromium is not installed (make test installs it)")


def notebook(cells: list) -> dict:
    return dict(cells=[dict(cell_type="code", source=c, metadata={}, outputs=[], execution_count=None) for c in cells],
                metadata={"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
                nbformat=4, nbformat_minor=5)


@pytest.fixture
def lab(tmp_path, tmp_path_factory):
    "JupyterLab on 127.0.0.1 serving a notebook over the session's two tiny runs; yields (url, token)."
    lsrl, hrpo = trained_runs(tmp_path_factory.getbasetemp())
    (tmp_path / "runs.ipynb").write_text(json.dumps(notebook([
        f"from lsrl.runs import RunBrowser, RunComparison\nRunComparison([{str(lsrl)!r}, {str(hrpo)!r}])",
        f"RunBrowser({str(lsrl)!r})"])))
    with jupyter_lab(tmp_path) as served: yield served


def legend(page, plot) -> list: return plot.locator(".legendtext").all_text_contents()


def test_run_comparison_renders_and_the_metric_menu_redraws(lab):
    from playwright.sync_api import sync_playwright
    url, token = lab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{url}/lab/tree/runs.ipynb?token={token}")
            page.wait_for_selector(".jp-Notebook", timeout=120_000)
            idle = page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")
            deadline = time.monotonic() + 180
            while not idle.count():          # Lab's kernel dialog may open at any moment: accept it
                if time.monotonic() > deadline:
                    page.screenshot(path=str(ARTIFACTS / "runs_no_kernel.png"))
                    pytest.fail("the kernel never became idle")
                accept_dialog(page)
                time.sleep(0.5)
            plots, dialog = page.locator(".js-plotly-plot"), page.locator(".jp-Dialog .jp-mod-accept")
            started = page.locator(".jp-CodeCell .jp-InputPrompt", has_text=re.compile(r"\[(\*|\d+)\]"))
            button = page.locator("button", has_text="open in DepthExplorer")
            for attempt in range(3):         # again when Lab dropped the run or a dialog opened over it
                run_all_cells(page)
                t0 = time.monotonic()
                while not (plots.count() >= 2 and button.count()) and not dialog.count() \
                        and time.monotonic() < t0 + 120:
                    if time.monotonic() > t0 + 15 and not started.count(): break
                    time.sleep(0.25)
                if plots.count() >= 2 and button.count(): break
                page.screenshot(path=str(ARTIFACTS / f"runs_attempt{attempt}.png"))
                if attempt == 2: pytest.fail("the comparison's plots never rendered (see tests/artifacts/runs_*)")
            main = plots.first
            main.locator(".gtitle").wait_for(timeout=60_000)
            assert main.locator(".gtitle").text_content() == "reward_mean"
            assert legend(page, main) == ["lsrl", "hrpo"]
            assert main.locator(".scatterlayer .trace").count() == 2
            page.screenshot(path=str(ARTIFACTS / "runs_reward.png"), full_page=True)
            page.locator(".widget-dropdown", has_text="metric").locator("select").select_option("hidden_ratio_hrpo")
            page.wait_for_function("() => document.querySelector('.js-plotly-plot .gtitle')"
                                   ".textContent === 'hidden_ratio_hrpo'", timeout=60_000)
            page.wait_for_function("() => document.querySelector('.js-plotly-plot')"
                                   ".querySelectorAll('.scatterlayer .trace').length === 1", timeout=60_000)
            assert legend(page, main) == ["hrpo"]
            page.screenshot(path=str(ARTIFACTS / "runs_hidden_ratio.png"), full_page=True)
            # the run browser's button opens the sample in a DepthExplorer (its depth slider shows below)
            assert page.locator(".widget-html-content", has_text="completion").count()
            button.first.click()
            page.locator(".widget-slider").first.wait_for(timeout=60_000)
            page.locator(".widget-html-content", has_text="depth 4").first.wait_for(timeout=60_000)
            page.screenshot(path=str(ARTIFACTS / "runs_browser_explorer.png"), full_page=True)
            assert not [e for e in errors if "plotly" in e.lower() or "widget" in e.lower()], errors
        finally:
            browser.close()
