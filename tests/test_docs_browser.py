"""The documentation site in headless Chromium. The site is the session's docs build (the `docs_build` fixture in
conftest.py: docs/build.py, the builder `make docs` runs, into a temporary folder, so a stale _site/ is never what is
tested; the same run is the notebooks' tests, tests/test_notebooks.py), served by `python -m http.server`
on 127.0.0.1 and loaded page by page with playwright driving Debian's chromium: every page loads with no console
error, page error or failed request and asks nothing of another host; plots render (`.js-plotly-plot` with its
`.main-svg`); math is typeset; no page shows a warning box (stderr output) and no code block is cut off on the right;
the API pages show show_doc entries; the nav lists every notebook; the home page's first look reads from depth 1 up.
Screenshots go to tests/artifacts/ (whole pages where there are figures, the first screen elsewhere). Pages load a few
ahead while one is checked. The server is stopped by its PID."""
import os, re, signal, socket, subprocess, sys, time, urllib.request
from pathlib import Path
from urllib.parse import urlparse
import pytest

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                 reason="Debian chromium is not installed (make test installs it)")]
# pages that must show a plot, whatever the build reports: the eval module's sweep figure and the depth tutorial
MUST_PLOT = ["eval.html", "tutorials/explore_depths.html"]
LOOKAHEAD = 3   # pages loading in the background while one is checked


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def page_url(nb: Path, nbs: Path) -> str:
    "Where nbdev (and so the site) puts a notebook: its path with the number prefix dropped, .html."
    rel = nb.relative_to(nbs)
    return (rel.parent / (re.sub(r"^\d+[a-zA-Z0-9]*_", "", rel.stem) + ".html")).as_posix()


@pytest.fixture(scope="module")
def site(docs_build):
    "The session's docs build: (site folder, manifest of its pages)."
    if docs_build.returncode:   # the notebook or cell is named by tests/test_notebooks.py
        pytest.fail(docs_build.failed().splitlines()[0] + ": see tests/test_notebooks.py", pytrace=False)
    return docs_build.site, docs_build.manifest


@pytest.fixture(scope="module")
def server(site):
    "http.server on 127.0.0.1 serving the site; stopped by PID at the end."
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                             "--directory", str(site[0])],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(url + "/index.html", timeout=1)
                break
            except Exception:
                if proc.poll() is not None: pytest.fail("http.server exited")
                time.sleep(0.1)
        else: pytest.fail("http.server did not answer within 10 s")
        yield url
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try: proc.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], headless=True)
        try: yield b
        finally: b.close()


class Visit:
    "One page in a fresh context: console errors, page errors, failed requests and requests to other hosts recorded."
    def __init__(self, browser, base: str, path: str, wait: bool = True):
        self.ctx = browser.new_context(viewport={"width": 1300, "height": 900})
        self.problems, self.path = [], path
        def route(r):   # nothing may leave this machine: record and refuse any other host
            host = urlparse(r.request.url).hostname
            if r.request.url.startswith(("http://", "https://")) and host not in ("127.0.0.1", "localhost"):
                self.problems.append(f"request to another host: {r.request.url}")
                return r.abort()
            return r.continue_()
        self.ctx.route("**/*", route)
        self.page = page = self.ctx.new_page()
        page.on("console",
                lambda m: m.type == "error" and self.problems.append(f"console error: {m.text} {m.location}"))
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: self.problems.append(f"failed request: {r.url} ({r.failure})"))
        page.on("response", lambda r: r.status >= 400 and self.problems.append(f"HTTP {r.status}: {r.url}"))
        page.goto(f"{base}/{path}", wait_until="commit")
        if wait: self.ready()

    def ready(self):
        "Until the page has loaded and the network is idle (a page started with wait=False loads meanwhile)."
        self.page.wait_for_load_state("load")
        self.page.wait_for_load_state("networkidle")
        return self

    def wait_math(self):
        "Until MathJax has typeset the page."
        self.page.evaluate("() => window.MathJax && MathJax.startup && MathJax.startup.promise"
                           " ? MathJax.startup.promise.then(() => true) : false")

    def prose(self) -> str:
        "The text of the markdown cells, without code and typeset math."
        return self.page.evaluate("""() => [...document.querySelectorAll('article .jp-MarkdownCell')].map(c => {
            const x = c.cloneNode(true); x.querySelectorAll('code, pre, mjx-container').forEach(e => e.remove());
            return x.textContent }).join('\\n')""")

    def clipped(self) -> list:
        """Code blocks and outputs wider than their box that do not scroll (what does not fit is cut off), and any that
        reach past the article's right edge."""
        return self.page.evaluate("""() => {
            const art = document.querySelector('article'), right = art.getBoundingClientRect().right;
            return [...art.querySelectorAll('pre, .jp-OutputArea-output, .jp-InputArea-editor')].filter(e => {
                const scrolls = ['auto', 'scroll'].includes(getComputedStyle(e).overflowX);
                return (e.scrollWidth > e.clientWidth + 1 && !scrolls) || e.getBoundingClientRect().right > right + 1;
            }).map(e => e.textContent.trim().split('\\n')[0].slice(0, 80)) }""")

    def warning_boxes(self) -> list:
        "Outputs the site shows as a warning: stderr streams, and any output that reads like a Python warning."
        boxes = self.page.eval_on_selector_all('article [data-mime-type="application/vnd.jupyter.stderr"]',
                                               "els => els.map(e => e.textContent.trim().slice(0, 200))")
        texts = self.page.eval_on_selector_all("article .jp-OutputArea-output",
                                               "els => els.map(e => e.textContent)")
        return boxes + [m.group(0) for t in texts for m in [re.search(r"\b[A-Z]\w*Warning: .{0,160}", t)] if m]

    def shot(self, full_page: bool = True):
        "A screenshot in tests/artifacts/: the whole page (slow on long pages: about a second each), or what shows."
        self.page.screenshot(path=str(ARTIFACTS / ("docs_" + re.sub(r"\W", "_", self.path) + ".png")),
                             full_page=full_page)

    def close(self):
        # what is still in flight (a screenshot's late fonts) is aborted by the close itself: not the page's fault
        kept, self.problems = self.problems, []
        self.ctx.close()
        self.problems = kept


def test_every_page_loads_offline_with_no_errors_and_its_plots_render(site, server, browser):
    root, manifest = site
    pages = {m["page"]: m for m in manifest}
    for p in MUST_PLOT: assert pages.get(p, {}).get("plots", 0) >= 1, f"{p} should have a plotly figure: {pages.get(p)}"
    failures, queue = [], list(pages.items())
    # a few pages load ahead while the current one is checked: the browser works on them meanwhile
    ahead = [Visit(browser, server, path, wait=False) for path, _ in queue[:LOOKAHEAD]]
    for k, (path, m) in enumerate(queue):
        v = ahead.pop(0)
        if k + LOOKAHEAD < len(queue): ahead.append(Visit(browser, server, queue[k + LOOKAHEAD][0], wait=False))
        try:
            v.ready()
            page = v.page
            if m["plots"]:   # each figure drawn: its .js-plotly-plot holds plotly's .main-svg
                page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot .main-svg').length > 0"
                                       " && [...document.querySelectorAll('.js-plotly-plot')]"
                                       f".filter(e => e.querySelector('svg.main-svg')).length >= {m['plots']}",
                                       timeout=60_000)
            v.wait_math()
            v.shot(full_page=bool(m["plots"]))   # whole pages where there are figures to look at
            text = page.locator("article").inner_text()
            for bad in ["Traceback (most recent call last)", "{target=", "IPY_MODEL_", "widget-view+json"]:
                if bad in text: v.problems.append(f"raw text on the page: {bad!r}")
            if re.search(r"^\s*#\|\s*[\w-]+", text, re.M):
                v.problems.append("a cell directive (#| ...) left in the code")
            if page.locator("mjx-merror, [data-mjx-error]").count():
                v.problems.append("a formula MathJax could not typeset")
            if tex := re.search(r"\$[^$\n]+\$|\\(frac|mathrm|sum|hat)\b", v.prose()):
                v.problems.append(f"math left as TeX: {tex.group(0)!r}")
            if m["plots"] == 0 and page.locator(".js-plotly-plot").count():
                v.problems.append("a plot the build did not count")
            v.problems += [f"a warning box: {w!r}" for w in v.warning_boxes()]
            v.problems += [f"a code block cut off on the right: {c!r}" for c in v.clipped()]
        except Exception as e:
            v.problems.append(f"{type(e).__name__}: {e}")
        finally:
            v.close()
        failures += [f"{path}: {p}" for p in v.problems]
    assert not failures, "\n".join(failures)


def test_api_page_shows_show_doc_entries_with_toc_and_typeset_math(site, server, browser):
    v = Visit(browser, server, "huginn.html")
    try:
        page = v.page
        v.wait_math()
        entry = page.locator("h3#huginnconfig")   # show_doc of an exported class: a heading, signature, docstring
        assert entry.count() == 1 and entry.inner_text().strip().startswith("HuginnConfig")
        assert page.locator("a.lsrl-source[href*='lsrl/huginn.py']").count() > 3
        assert (page.locator("article pre", has_text="def HuginnConfig(").count()
                + page.locator("article pre", has_text="class HuginnConfig").count()) >= 1
        assert page.locator(".md-nav--secondary a[href='#huginnconfig']").count() >= 1   # in the page's contents
        assert page.locator("article mjx-container").count() > 10                         # formulas typeset by MathJax
        assert not v.problems, v.problems
        v.shot()
    finally:
        v.close()
    v = Visit(browser, server, "index.html")   # a name in backticks links to its entry on its module's page, here
    try:
        v.page.locator("article a[href='trainer.html#trainer']").first.click()
        v.page.wait_for_url("**/trainer.html#trainer")
        assert v.page.locator("h3#trainer").is_visible() and not v.problems, v.problems
    finally:
        v.close()


def test_nav_lists_every_notebook_in_order(site, server, browser):
    nbs = ROOT / "nbs"
    skip = lambda p: any(part[0] in "_." for part in p.relative_to(nbs).parts)
    modules = sorted(p for p in nbs.glob("*.ipynb") if not skip(p) and p.name != "index.ipynb")
    tutorials = sorted(p for p in nbs.glob("tutorials/*.ipynb") if not skip(p))
    v = Visit(browser, server, "index.html")
    try:
        page = v.page
        hrefs = page.eval_on_selector_all(".md-nav--primary a.md-nav__link[href]",
                                          "els => els.map(e => e.getAttribute('href'))")
        hrefs = [h.removeprefix("./") for h in hrefs if not h.startswith("#")]
        expected = [page_url(p, nbs) for p in modules + tutorials]
        # all of them, modules in file order, then tutorials
        assert [h for h in hrefs if h in expected] == expected, (hrefs, expected)
        assert page.locator(".md-nav--primary .md-nav__item--section", has_text="Tutorials").count() == 1
        assert page.locator("article h1").first.inner_text().strip() == "lsrl"
        assert not v.problems, v.problems
    finally:
        v.close()


def test_first_look_reads_from_depth_1_up_and_the_depths_differ(site, server, browser):
    "The home page's first look: one row per depth, 1 to 8 in order, not all saying the same; at a narrow width too."
    v = Visit(browser, server, "index.html")
    try:
        out = v.page.locator("article .jp-OutputArea-output", has_text="depth 1:").first.inner_text()
        rows = re.findall(r"^depth (\d+): step \S+\s+(.*)$", out, re.M)
        assert [int(k) for k, _ in rows] == list(range(1, 9)), out
        assert len({text for _, text in rows}) > 1, f"every depth decodes the same text:\n{out}"
        v.page.set_viewport_size({"width": 760, "height": 900})   # a narrow window: long lines scroll, not cut off
        assert not v.clipped() and not v.problems, (v.clipped(), v.problems)
        v.page.screenshot(path=str(ARTIFACTS / "docs_index_narrow.png"), full_page=True)
    finally:
        v.close()
