"""docs/build.py (the builder behind `make docs`) on small notebooks made here: which notebooks become pages and in
which order, cells flagged notest/slow/cuda shown but never run, hidden cells run but not shown, show_doc for exported
names, links to other pages made relative, plotly figures as HTML for the site's own plotly.js, widgets as a static
snapshot. The whole site in a browser is tests/test_docs_browser.py."""
import importlib.util, json
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def b():
    spec = importlib.util.spec_from_file_location("docs_build", ROOT / "docs" / "build.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def write_nb(path: Path, cells: list):
    "A notebook of (cell_type, source) pairs."
    path.parent.mkdir(parents=True, exist_ok=True)
    cells = [dict(cell_type=t, metadata={}, source=s, id=f"c{i}",
                  **({"outputs": [], "execution_count": None} if t == "code" else {}))
             for i, (t, s) in enumerate(cells)]
    meta = {"kernelspec": {"display_name": "python3", "language": "python", "name": "python3"}}
    path.write_text(json.dumps(dict(cells=cells, metadata=meta, nbformat=4, nbformat_minor=5)))


def test_notebooks_and_nav_from_the_folder_listing(b, tmp_path):
    for name in ["index.ipynb", "01_b.ipynb", "00_a.ipynb", "_draft.ipynb", "tutorials/zeta.ipynb",
                 "tutorials/alpha.ipynb", "_private/x.ipynb", ".ipynb_checkpoints/00_a-checkpoint.ipynb",
                 "guides/how.ipynb"]:
        write_nb(tmp_path / name, [("markdown", "# T")])
    pages = b.find_notebooks(tmp_path)
    assert [p.rel.as_posix() for p in pages] == ["index.ipynb", "00_a.ipynb", "01_b.ipynb", "guides/how.ipynb",
                                                "tutorials/alpha.ipynb", "tutorials/zeta.ipynb"]
    for p in pages: p.dest, p.title = p.rel.with_suffix(".ipynb"), p.rel.stem.upper()
    assert b.make_nav(pages) == [{"Home": "index.ipynb"}, {"Modules": [{"00_A": "00_a.ipynb"}, {"01_B": "01_b.ipynb"}]},
                                 {"Guides": [{"HOW": "guides/how.ipynb"}]},
                                 {"Tutorials": [{"ALPHA": "tutorials/alpha.ipynb"}, {"ZETA": "tutorials/zeta.ipynb"}]}]


def test_remote_fetches_are_found(b):
    page = ('<script src="https://cdn.example/x.js"></script><script src="assets/plotly.min.js"></script>'
            '<link rel="stylesheet" href="//fonts.example/css"><a href="https://github.com/x">source</a>'
            '<img src="../assets/a.png">')
    assert b.remote_fetches(page) == ['<script src="https://cdn.example/x.js">',
                                      '<link rel="stylesheet" href="//fonts.example/css">']


@pytest.mark.slow
def test_page_from_a_notebook(b, tmp_path, monkeypatch):
    src = tmp_path / "nbs" / "05_demo.ipynb"
    write_nb(src, [
        ("markdown", "# Demo\n\n> A notebook made by the test."),
        ("code", "#| hide\nHIDDEN_SETUP = 41"),
        ("code", "#| notest\nraise RuntimeError('the notest cell ran')"),
        ("code", "#| slow\nraise RuntimeError('the slow cell ran')"),
        ("code", "#| cuda\nraise RuntimeError('the cuda cell ran')"),
        ("code", "#| eval: false\nraise RuntimeError('the eval: false cell ran')"),
        ("code", '#| export\ndef add_one(x):\n    "Add one to `x`."\n    return x + 1'),
        ("markdown", "The model is configured by `HuginnConfig`."),
        ("code", "HIDDEN_SETUP + add_one(0)"),
        ("code", "import plotly.graph_objects as go\ngo.Figure(go.Scatter(y=[1, 3, 2]))"),
        ("code", "import ipywidgets as w\n"
                 "w.VBox([w.HTML('<b>snapshot text</b>'), w.IntSlider(3, min=1, max=8, description='depth')])"),
    ])
    monkeypatch.chdir(ROOT)   # the repo's pyproject: tst_flags, links to lsrl's pages
    for k, v in b.kernel_env().items(): monkeypatch.setenv(k, v)
    page, processed = b.build_page(b.Page(src=src, rel=Path("05_demo.ipynb")), 120, {"notest", "slow", "cuda"},
                                   tmp_path / "work")
    assert (page.dest.as_posix(), page.title) == ("demo.ipynb", "Demo")
    huginn = b.Page(src=src, rel=Path("01_huginn.ipynb"), dest=Path("huginn.ipynb"))
    cells = b.to_mkdocs(processed, page, b.Linker([page, huginn]))["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    md = "\n".join(c["source"] for c in cells if c["cell_type"] == "markdown")
    srcs = "\n".join(c["source"] for c in cells)

    assert cells[0]["source"].startswith("# Demo") and "> A notebook made by the test." in cells[0]["source"]
    assert "HIDDEN_SETUP = 41" not in srcs and "return x + 1" not in srcs          # hidden and exported cells not shown
    assert not [x for x in srcs.splitlines() if x.lstrip().startswith("#|")]      # no directive lines left
    for flag in ["notest", "slow", "cuda", "eval: false"]:                         # shown as code, never run
        c = next(c for c in code if f"the {flag} cell ran" in c["source"])
        assert c["outputs"] == [] and f"not run for the docs ({flag})" in c["metadata"]["tags"], c
    assert "### add_one" in md and "Add one to" in md                             # show_doc from the same kernel
    assert "](huginn.html#huginnconfig)" in md and "lsrl.github.io" not in md     # links inside the site
    res = next(c for c in code if "HIDDEN_SETUP + add_one(0)" in c["source"])     # the hidden cell did run
    assert "".join(res["outputs"][0]["data"]["text/plain"]) == "42"
    fig = next(c for c in code if "go.Figure" in c["source"])["outputs"][0]["data"]
    assert list(fig) == ["text/html"] and "Plotly.newPlot" in fig["text/html"] and "<script src" not in fig["text/html"]
    widget = next(c for c in code if "ipywidgets" in c["source"])["outputs"][0]["data"]
    assert list(widget) == ["text/html"]
    assert "snapshot text" in widget["text/html"] and "depth: <b>3</b>" in widget["text/html"]
    assert (page.plots, page.widgets) == (1, 1)
    assert "widgets" not in processed.get("metadata", {})                          # no widget state (needs a CDN)


def test_stderr_output_is_reported_with_its_cell(b):
    "A cell that wrote to stderr (a warning box on the site) is named with what it wrote; stdout alone is fine."
    import nbformat
    def cell(i, src, outputs):
        return nbformat.from_dict(dict(cell_type="code", source=src, metadata={"lsrl_cell": i}, outputs=outputs))
    out = lambda name, text: dict(output_type="stream", name=name, text=text)
    ok = nbformat.from_dict(dict(cells=[cell(0, "print(1)", [out("stdout", "1\n")])]))
    assert b.stderr_report(ok) == ""
    warn = "/x/y.py:3: FutureWarning: `old` is deprecated\n  warnings.warn(\n"
    nb = nbformat.from_dict(dict(cells=[cell(0, "print(1)", [out("stdout", "1\n")]),
                                        cell(1, "# load it\nm = load()", [out("stderr", warn)]),
                                        cell(2, "log()", [out("stderr", "\x1b[31mnotice\x1b[0m\n")])]))
    report = b.stderr_report(nb)
    assert report.startswith("cell 2 of 3 (`# load it`): wrote to stderr, a warning box on the page (1 more cell(s) "
                             "did too): /x/y.py:3: FutureWarning: `old` is deprecated [+1 line(s)]"), report


@pytest.mark.slow
def test_a_failing_cell_fails_its_notebook_with_a_short_report(b, tmp_path, monkeypatch):
    """The others still run; the report names the notebook, the cell (as numbered in the file) and the last frames.
    A notebook whose cell warns (stderr: a warning box on the site) fails too."""
    write_nb(tmp_path / "nbs" / "00_bad.ipynb", [
        ("markdown", "# Bad"),
        ("code", "def f(x):\n    assert x > 0, 'x must be positive, not ' + repr(x) + '.' * 5000\n    return x"),
        ("code", "f(1)"),
        ("code", "# the failing cell\nf(-1)"),
        ("code", "raise RuntimeError('a cell after the failure ran')"),
    ])
    write_nb(tmp_path / "nbs" / "01_ok.ipynb", [("code", "1 + 1")])
    warn = "import warnings\nwarnings.warn('old API', FutureWarning)"
    write_nb(tmp_path / "nbs" / "02_warns.ipynb", [("code", "1 + 1"), ("code", warn)])
    monkeypatch.chdir(ROOT)
    for k, v in b.kernel_env().items(): monkeypatch.setenv(k, v)
    pages = b.find_notebooks(tmp_path / "nbs")
    done = b.execute_all(pages, 120, {"notest", "slow", "cuda"}, tmp_path / "work", 2)
    bad, ok, warns = pages
    assert done[0][1] is None and done[1][1] is not None and not ok.error and done[2][1] is None
    assert warns.error.startswith("02_warns.ipynb, cell 2 of 2 (`import warnings`): wrote to stderr") \
        and "FutureWarning: old API" in warns.error, warns.error
    head, *frames = bad.error.splitlines()
    assert head.startswith("00_bad.ipynb, cell 4 of 5 (`# the failing cell`): AssertionError: x must be positive, "
                           "not -1") and len(head) < 400
    assert any("----> 2 f(-1)" in x for x in frames) and len(frames) < 30
    assert "a cell after the failure ran" not in (tmp_path / "work" / "logs" / "00_bad.ipynb.error.txt").read_text()
    assert b.failures_report(pages, tmp_path / "work").startswith("2 of 3 notebooks failed:\n\n00_bad.ipynb, cell 4")
