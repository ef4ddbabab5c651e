"""Widgets rendered in real JupyterLab in headless Chromium, in one Lab session and one browser for the module: the
depth-explorer tutorial (run it, move the depth slider, check the snapshot text, the curves' score axis and legend, the
logit lens' hover and depth frame), then a notebook made here with a finished TrainingLauncher run and a DepthExplorer
over a saved sample (chart grid, integer update ticks, no hidden-ratio chart outside hrpo, fields not truncated, no NaN
or warning box), then the run widgets over the session's two trained tiny runs (tests/test_runs.py): `RunComparison`'s
metric plot renders with both runs, choosing another metric in the menu redraws it, and a `RunBrowser`'s button opens
the sample in a DepthExplorer. Each notebook opens in a Lab workspace of its own and runs once its kernel is connected
(Lab's status shows "idle" before that, and a Run All then clears the cells instead of running them). Screenshots go to
tests/artifacts/. Every server started here is stopped by its PID."""
import json, os, re, shutil, signal, socket, subprocess, sys, time, urllib.request
from contextlib import contextmanager
from pathlib import Path
import pytest

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason="Debian chromium is not installed (make test installs it)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


LAUNCHER_CELLS = [
    "import tempfile\nfrom lsrl.widgets import DepthExplorer, TrainingLauncher",
    "tl = TrainingLauncher(tempfile.mkdtemp(prefix='lsrl-browser-') + '/a-run-folder-with-a-rather-long-name/lsrl',\n"
    "                      mode='lsrl', num_steps=2, group_size=2, prompts_per_update=2, micro_batches=1, updates=3,\n"
    "                      max_new_tokens=6, grader='symbolic', train_size=8)\n"
    "tl.start(); tl.wait(300)\ntl",
    "DepthExplorer.from_sample(dict(question='What is 2 + 3?', gold='5', snapshots=[\n"
    "    dict(depth=1, text='2 + 3 = 6', iqs=0.5, ps=0.0), dict(depth=2, text='2 + 3 = 5 #### 5', iqs=2.0, ps=1.0)]))",
]


def notebook(cells: list) -> dict:
    "A notebook of code cells."
    return dict(cells=[dict(cell_type="code", id=f"c{i}", metadata={}, source=s, outputs=[], execution_count=None)
                       for i, s in enumerate(cells)],
                metadata={"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
                nbformat=4, nbformat_minor=5)


@contextmanager
def jupyter_lab(folder: Path):
    "JupyterLab on 127.0.0.1 serving `folder` (one torch thread per kernel); yields (base url, token); killed by PID."
    port, token = free_port(), "lsrl-test-token"
    env = dict(os.environ, OMP_NUM_THREADS="1", JUPYTER_CONFIG_DIR=str(folder / ".jupyter"),
               JUPYTER_RUNTIME_DIR=str(folder / ".rt"))
    proc = subprocess.Popen([sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}",
                             "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
                             f"--ServerApp.root_dir={folder}", "--ServerApp.open_browser=False", "--allow-root",
                             "--LabApp.expose_app_in_browser=True"],
                            env=env, stdout=open(folder / "lab.log", "w"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        up = False
        for _ in range(240):
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=1)
                up = True
                break
            except Exception:
                if proc.poll() is not None: break
                time.sleep(0.5)
        if not up: pytest.fail("JupyterLab did not start:\n" + (folder / "lab.log").read_text()[-3000:])
        yield url, token
    finally:
        os.killpg(proc.pid, signal.SIGTERM)   # the server and the kernels it started
        try: proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


RUNS_NOTEBOOK = "runs.ipynb"   # written by the runs test once the session's runs are trained (Lab reads it on open)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on 127.0.0.1 for the module, serving a copy of the tutorial and the launcher notebook; yields
    (base url, token, folder); killed by PID afterwards."""
    folder = tmp_path_factory.mktemp("lab")
    shutil.copy(ROOT / "nbs" / "tutorials" / "explore_depths.ipynb", folder / "explore_depths.ipynb")
    (folder / "launcher.ipynb").write_text(json.dumps(notebook(LAUNCHER_CELLS)))
    with jupyter_lab(folder) as (url, token): yield url, token, folder


@pytest.fixture(scope="module")
def browser():
    "One headless Chromium for the module's tests (each opens its own page)."
    from playwright.sync_api import sync_playwright
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], headless=True)
        try: yield b
        finally: b.close()


def accept_dialog(page):
    "Accept a JupyterLab dialog (e.g. 'Select Kernel') if one is open."
    btn = page.locator(".jp-Dialog .jp-mod-accept")
    if btn.count():
        btn.first.click()
        time.sleep(1)


def run_all_cells(page, tries: int = 6):
    """Run > Run All Cells from the menu bar, the notebook focused first; again after accepting a dialog that opened in
    the way (Lab's kernel dialog can show at any moment and then intercepts every click). After two failed tries,
    also Lab's own `notebook:run-all-cells` command, the one that menu item runs (the server exposes the app)."""
    for i in range(tries):
        accept_dialog(page)
        try:
            page.keyboard.press("Escape")   # a menu a failed try left open would close on the click below
            # the Run menu offers "Run All Cells" only while a notebook is the current widget: focus the visible one
            page.locator(".jp-NotebookPanel:visible .jp-Notebook").first.click(position=dict(x=5, y=5), timeout=10_000)
            page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).first.click(timeout=10_000)
            page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).first.click(timeout=10_000)
            return
        except Exception:
            if i == tries - 1: raise
            if i >= 1:   # the menu failed twice: Lab's own command (what the menu item runs) on the current notebook
                page.keyboard.press("Escape")
                ok = page.evaluate("() => window.jupyterapp ? window.jupyterapp.commands"
                                   ".execute('notebook:run-all-cells').then(() => true) : false")
                if ok: return


# Lab's own view of the notebook `name` (the server exposes the app): its panel's id, and whether its kernel is
# connected and idle. Lab's execution indicator reads "idle" from the start, before the kernel is connected; a Run All
# then finds no kernel and clears every cell instead of running it.
PANEL_JS = """name => { const app = window.jupyterapp; if (!app) return null;
    for (const w of app.shell.widgets('main')) if (w.context && w.context.path === name) return w.id;
    return null; }"""
KERNEL_READY_JS = """name => { const app = window.jupyterapp; if (!app) return false;
    for (const w of app.shell.widgets('main')) if (w.context && w.context.path === name) {
        const k = w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
        return !!k && k.connectionStatus === 'connected' && k.status === 'idle'; }
    return false; }"""


def open_and_run(page, url: str, token: str, name: str, ready, shot: str, wait_s: float = 90):
    """Open notebook `name` in a Lab workspace of its own (no other notebook's tab restored beside it), wait until its
    kernel is connected and idle, and Run All Cells until `ready` (a CSS selector, or a function returning whether the
    outputs are there) holds: again when the kernel dialog opened over the run, when no cell of this notebook started
    within 15 s (Lab dropped the run: every prompt still "[ ]"), or after `wait_s`; 3 runs at most. Screenshots of
    failed attempts are named after `shot`."""
    workspace = re.sub(r"\W", "-", Path(name).stem)
    page.goto(f"{url}/lab/workspaces/{workspace}/tree/{name}?token={token}")
    page.wait_for_selector(".jp-Notebook", timeout=120_000)
    page.wait_for_selector(".jp-KernelName", timeout=180_000)
    # Lab may ask which kernel to start (a race in its session check), at any moment on a slow machine: accept the
    # default whenever the dialog shows, until the kernel is connected and reports idle
    deadline = time.monotonic() + 180
    while not page.evaluate(KERNEL_READY_JS, name):
        if time.monotonic() > deadline:
            page.screenshot(path=str(ARTIFACTS / f"{shot}_no_kernel.png"))
            pytest.fail(f"the kernel of {name} never became idle")
        accept_dialog(page)
        time.sleep(0.25)
    done = (lambda: page.locator(ready).count() > 0) if isinstance(ready, str) else ready
    dialog = page.locator(".jp-Dialog .jp-mod-accept")
    started = page.locator(f"[id='{page.evaluate(PANEL_JS, name)}'] .jp-CodeCell .jp-InputPrompt",
                           has_text=re.compile(r"\[(\*|\d+)\]"))   # this notebook's cells only
    for attempt in range(3):
        run_all_cells(page)
        t0 = time.monotonic()
        while not done() and not dialog.count() and time.monotonic() < t0 + wait_s:
            if time.monotonic() > t0 + 15 and not started.count(): break
            time.sleep(0.25)
        if done(): return
        page.screenshot(path=str(ARTIFACTS / f"{shot}_attempt{attempt}.png"))
    pytest.fail(f"{ready if isinstance(ready, str) else 'the outputs'} never rendered in {name} "
                f"(see tests/artifacts/{shot}_*)")


def boxes(locator) -> list:
    "Bounding boxes {x, y, width, height} of every element a playwright locator matches."
    return locator.evaluate_all("els => els.map(e => { const r = e.getBoundingClientRect(); "
                                "return {x: r.x, y: r.y, width: r.width, height: r.height}; })")


def overlap(a: dict, b: dict) -> bool:
    return not (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"] or
                a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])


def check_explorer(page, url, token):
    open_and_run(page, url, token, "explore_depths.ipynb", ".widget-slider", "explorer")
    page.locator(".widget-html-content", has_text="depth 8").first.wait_for(timeout=120_000)
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 3", timeout=120_000)
    plots = page.locator(".js-plotly-plot")
    curves, lens = plots.nth(0), plots.nth(2)
    # the score axis: 0-2 with round ticks, whole labels; the legend under the plot, clear of both axes
    assert curves.locator(".y2tick text").all_text_contents() == ["0", "0.5", "1", "1.5", "2"]
    pca_left = boxes(plots.nth(1))[0]["x"]                         # the score axis fits beside the PCA plot
    for tick in boxes(curves.locator(".y2tick text")): assert tick["x"] + tick["width"] <= pca_left, (tick, pca_left)
    legend = boxes(curves.locator(".legend"))[0]
    for tick in boxes(curves.locator(".y2tick text, .ytick text, .g-y2title, .g-ytitle")):
        assert not overlap(legend, tick), (legend, tick)
    # the lens: legible cell text, its first column on the answer, the frame on depth 8
    sizes = lens.evaluate("p => [...p.querySelectorAll('.heatmaplayer text, .textpoint text, text.textpoint')]"
                          ".map(t => parseFloat(getComputedStyle(t).fontSize))")
    assert sizes and min(sizes) >= 11, sizes
    shapes = lambda: page.evaluate("[...document.querySelectorAll('.js-plotly-plot')].map(p => "
                                   "[...p.querySelectorAll('.shapelayer path')].map(s => s.getAttribute('d')))")
    before = shapes()
    news = page.locator(".jp-Notification-Toast-Close, .jp-toast-button:has-text('No')")
    if news.count(): news.first.click()                          # Lab's "notified about news?" toast covers plots
    out = page.locator(".jp-CodeCell").nth(1).locator(".jp-OutputArea")
    out.screenshot(path=str(ARTIFACTS / "explorer_depth8.png"))
    # hover a lens cell: the input token and the top-k next tokens
    lens.scroll_into_view_if_needed()
    drag = lens.locator(".nsewdrag").first.bounding_box()
    page.mouse.move(drag["x"] + drag["width"] * 0.3, drag["y"] + drag["height"] * 0.5)
    hover = page.locator(".hoverlayer .hovertext").first
    hover.wait_for(timeout=30_000)
    assert re.search(r"depth \d+ · position \d+\s*input .+next: .+, .+", hover.text_content()), hover.text_content()
    lens.screenshot(path=str(ARTIFACTS / "explorer_lens_hover.png"))
    handle = page.locator(".widget-slider .noUi-handle, .widget-slider .ui-slider-handle").first
    handle.click()
    for _ in range(5): page.keyboard.press("ArrowLeft")
    page.locator(".widget-html-content", has_text="depth 3").first.wait_for(timeout=60_000)
    page.wait_for_function("b => { const now = [...document.querySelectorAll('.js-plotly-plot')].map(p => "
                           "[...p.querySelectorAll('.shapelayer path')].map(s => s.getAttribute('d'))); "
                           "return now[0][0] !== b[0][0] && now[2][0] !== b[2][0]; }", arg=before, timeout=60_000)
    out.screenshot(path=str(ARTIFACTS / "explorer_depth3.png"))
    # the log-scale switch and the s0 switch redraw their plots
    page.get_by_text("log scale (step, KL, entropy)").click()
    page.wait_for_function("() => document.querySelector('.js-plotly-plot').layout.yaxis.type === 'log'",
                           timeout=30_000)
    page.get_by_text("show s0 (refit the plane)").click()
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot')[1].data[0].x.length === 9",
                           timeout=30_000)
    out.screenshot(path=str(ARTIFACTS / "explorer_log_s0.png"))


def check_launcher(page, url, token):
    page.set_viewport_size({"width": 1400, "height": 1800})       # the whole launcher on screen
    open_and_run(page, url, token, "launcher.ipynb", ".widget-html-content:has-text('finished at update 3/3')",
                 "launcher")
    page.locator(".widget-html-content", has_text="What is 2 + 3?").first.wait_for(timeout=60_000)
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 6", timeout=60_000)
    # in the launcher's own cell (the sample's explorer below has grids of its own): the form is its first grid, the
    # charts its second
    grid = page.locator(".jp-CodeCell", has_text="tl.start()").locator(".widget-gridbox").nth(1)
    grid.locator(".js-plotly-plot").last.scroll_into_view_if_needed(timeout=60_000)   # Lab draws outputs when seen
    grid.locator(".gtitle").nth(4).wait_for(state="attached", timeout=60_000)
    titles = grid.locator(".gtitle").all_text_contents()
    assert titles[:4] == ["reward", "accuracy", "KL", "β"] and "hidden ratio" not in titles, titles
    charts = boxes(grid.locator(".js-plotly-plot"))
    assert len(charts) == 5 and min(c["width"] for c in charts) >= 300, charts      # two columns, room for each
    assert len({round(c["x"]) for c in charts}) == 2
    ticks = grid.locator(".js-plotly-plot").first.locator(".xtick text").all_text_contents()
    assert ticks and all(re.fullmatch(r"\d+", t) for t in ticks), ticks     # whole updates only
    folder = page.evaluate("[...document.querySelectorAll('.widget-text input')].filter(i => "
                           "i.value.includes('a-run-folder')).map(i => [i.scrollWidth, i.clientWidth])")
    assert folder and folder[0][0] <= folder[0][1] + 2, folder         # the whole path fits
    lr = page.evaluate("[...document.querySelectorAll('.widget-text')].filter(w => "
                       "w.textContent.includes('learning rate')).map(w => w.querySelector('input').value)")
    assert lr == ["2e-06"], lr
    # the saved sample: only its score curves, no NaN, no warning box anywhere in the notebook
    last = page.locator(".jp-CodeCell", has_text="DepthExplorer.from_sample").last
    last.scroll_into_view_if_needed()
    last.locator(".js-plotly-plot").first.wait_for(timeout=30_000)
    assert last.locator(".js-plotly-plot").count() == 1
    assert "nan" not in last.locator(".jp-OutputArea").inner_text().lower()
    sample_stderr = last.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert sample_stderr.count() == 0, sample_stderr.all_text_contents()
    launcher = page.locator(".jp-OutputArea-output", has_text="finished at update 3/3").first
    launcher.scroll_into_view_if_needed()
    launcher.screenshot(path=str(ARTIFACTS / "launcher_finished.png"))
    last.locator(".jp-OutputArea-output").first.screenshot(path=str(ARTIFACTS / "explorer_from_sample.png"))


def widget_errors(errors: list) -> list: return [e for e in errors if "plotly" in e.lower() or "widget" in e.lower()]


def test_widgets_in_jupyterlab(lab, browser):
    url, token, _ = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        check_explorer(page, url, token)
        assert not widget_errors(errors), errors
        errors.clear()
        try: check_launcher(page, url, token)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "launcher_failed.png"))
            raise
        # a chart created before the page shows it may log this once in Lab; every chart is checked drawn above
        assert not [e for e in widget_errors(errors) if e != "[anywidget] Failed to initialize model."], errors
    finally:
        page.close()


def legend(plot) -> list: return plot.locator(".legendtext").all_text_contents()


def test_run_comparison_renders_and_the_metric_menu_redraws(lab, browser, runs):
    url, token, folder = lab
    lsrl, hrpo = runs
    (folder / RUNS_NOTEBOOK).write_text(json.dumps(notebook([
        f"from lsrl.runs import RunBrowser, RunComparison\nRunComparison([{str(lsrl)!r}, {str(hrpo)!r}])",
        f"RunBrowser({str(lsrl)!r})"])))
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    try:
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        plots, button = page.locator(".js-plotly-plot"), page.locator("button", has_text="open in DepthExplorer")
        open_and_run(page, url, token, RUNS_NOTEBOOK, lambda: plots.count() >= 2 and button.count() > 0, "runs",
                     wait_s=120)
        main = plots.first
        main.locator(".gtitle").wait_for(timeout=60_000)
        assert main.locator(".gtitle").text_content() == "reward_mean"
        assert legend(main) == ["lsrl", "hrpo"]
        assert main.locator(".scatterlayer .trace").count() == 2
        page.screenshot(path=str(ARTIFACTS / "runs_reward.png"), full_page=True)
        page.locator(".widget-dropdown", has_text="metric").locator("select").select_option("hidden_ratio_hrpo")
        page.wait_for_function("() => document.querySelector('.js-plotly-plot .gtitle')"
                               ".textContent === 'hidden_ratio_hrpo'", timeout=60_000)
        page.wait_for_function("() => document.querySelector('.js-plotly-plot')"
                               ".querySelectorAll('.scatterlayer .trace').length === 1", timeout=60_000)
        assert legend(main) == ["hrpo"]
        page.screenshot(path=str(ARTIFACTS / "runs_hidden_ratio.png"), full_page=True)
        # the run browser's button opens the sample in a DepthExplorer (its depth slider shows below)
        assert page.locator(".widget-html-content", has_text="completion").count()
        button.first.click()
        page.locator(".widget-slider").first.wait_for(timeout=60_000)
        page.locator(".widget-html-content", has_text="depth 4").first.wait_for(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "runs_browser_explorer.png"), full_page=True)
        assert not widget_errors(errors), errors
    finally:
        page.close()
