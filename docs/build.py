"""Build the documentation site offline (`make docs`): no Quarto, no network.

1. Every notebook under nbs/ (folders starting with `_` or `.` skipped) is executed in a fresh Jupyter kernel with
   nbclient, from its own folder, one thread for torch and a per-cell timeout (pyproject `cell_timeout`), `--jobs`
   notebooks at once. Before that, nbdev's `add_show_docs` adds a `show_doc` cell after each exported definition, so
   the API reference is rendered by the same kernel. The cells nbdev-test leaves out are not run (shown as code
   only): cells flagged with one of pyproject's `tst_flags` (notest, slow, cuda), `#| eval: false` (or a notebook's
   `eval: false` frontmatter), every cell of a `skip_exec` or non-Python notebook. This is the run `make test` relies
   on instead of nbdev-test: a cell that raises (or times out, or kills its kernel, or writes to stderr, which the
   site would show as a warning box) fails the build, every notebook still runs, and the build ends with one short
   report per failed notebook (notebook, cell number, cell's first line, exception, last frames); the full traceback
   is in <work-dir>/logs/. <work-dir>/execution.json records each notebook's outcome either way.
2. The executed notebook goes through nbdev's own docs processors (the list `nbdev-proc-nbs` uses, less its
   `exec_show_docs`, whose job step 1 did): frontmatter, hidden and exported cells removed, `show_doc` cells
   folded, links between modules.
3. The result is turned into what mkdocs-jupyter can show without Quarto: Quarto cell options applied and removed,
   `show_doc` output turned into markdown (so each name is a heading in the page's table of contents), links made
   relative, plotly figures written as HTML that calls the plotly.js shipped with the installed plotly package
   (loaded from the site itself, never a CDN), widgets replaced by a static snapshot of what they showed.
4. mkdocs-material + mkdocs-jupyter render the site to `_site/` with a nav made from the folder listing: index,
   the module notebooks in file order, then one section per sub-folder (Tutorials).

`nbdev-docs` (Quarto, nbs/_quarto.yml) stays the path for machines that have Quarto.

Usage: python docs/build.py [--site-dir _site] [--work-dir _mkdocs] [--jobs 2] [--only GLOB ...] [--exclude GLOB ...]
                            [--start-jobs 1] [--no-site] [--allow-stderr]
"""
import argparse, fnmatch, hashlib, html, json, logging, os, re, shutil, sys, threading, time, traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SKIP_TAG = "lsrl-docs-skip"          # nbclient does not execute cells with this tag
HIDE_INPUT_TAG = "lsrl-hide-input"   # mkdocs-jupyter drops these cells' input (mkdocs.yml remove_tag_config)
PLOTLY_MIME = "application/vnd.plotly.v1+json"
WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"
ASSET_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".csv", ".json", ".txt"}
# Long code lines, outputs and signatures scroll inside their own block instead of being cut off at the right edge
# (mkdocs-jupyter's input area hides what overflows). Written beside the theme's files as assets/lsrl-code.css.
CODE_CSS = """\
.jupyter-wrapper .jp-InputArea pre, .jupyter-wrapper .jp-OutputArea pre, .md-typeset pre > code { overflow-x: auto; }
.jupyter-wrapper .jp-OutputArea-output { max-width: 100%; overflow-x: auto; }
.jupyter-wrapper .celltoolbar { box-sizing: border-box; }
"""


@dataclass
class Page:
    src: Path                 # the notebook in nbs/
    rel: Path                 # its path relative to nbs/
    dest: Path = None         # path of the page notebook relative to the mkdocs docs_dir (Quarto's output name)
    title: str = ""
    seconds: float = 0.0
    skipped: list = field(default_factory=list)   # (cell index, reason) of cells shown but not run
    plots: int = 0            # plotly figures on the page
    widgets: int = 0          # widget outputs replaced by a static snapshot
    error: str = ""           # why its execution failed (the short report), "" when it ran cleanly
    sha1: str = ""            # of the notebook file as executed (tests compare it with the file as it is now)

    @property
    def url(self): return self.dest.with_suffix(".html").as_posix()


def log(*a): print("[docs]", *a, flush=True)


# Executed first, longest first (an ordering hint only, a stale entry costs nothing): the notebooks that train, 20-60 s
# each in `make test`, against 2-15 s for the others. Longest first keeps the end of the build short, when one kernel
# may be left with the last notebook.
RUN_FIRST = ("tutorials/table3.ipynb", "tutorials/hrpo.ipynb", "09_tiny.ipynb", "10a_runs.ipynb", "08a_learning.ipynb",
             "10_widgets.ipynb", "tutorials/outcome_vs_lsrl.ipynb", "07_trainer.ipynb", "08_eval.ipynb")


# ---------------------------------------------------------------------------------------------------------------
# which notebooks, in which order

def find_notebooks(nbs: Path) -> list:
    "index first, then the top-level notebooks by file name (00_, 01_, ...), then each sub-folder's, by folder."
    def skip(p: Path): return any(part[0] in "_." for part in p.relative_to(nbs).parts)
    found = [p for p in nbs.rglob("*.ipynb") if not skip(p) and ".ipynb_checkpoints" not in p.parts]
    def key(p: Path):
        rel = p.relative_to(nbs)
        return (len(rel.parts) > 1, rel.parent.as_posix(), rel.name != "index.ipynb", rel.name)
    return [Page(src=p, rel=p.relative_to(nbs)) for p in sorted(found, key=key)]


# ---------------------------------------------------------------------------------------------------------------
# step 1: execute

def _false(v): return str(v).strip().lower() == "false"


def _tst_flags():
    from nbdev.config import get_config
    return set(str(get_config().get("tst_flags", "")).split())


SNAPSHOT_MIME = "application/vnd.lsrl-docs-snapshot+json"
SETUP_CODE = f'''from nbdev.showdoc import show_doc
def _lsrl_docs_snapshot():
    "Docs build: the state of every live widget, plotly FigureWidgets as whole figures (removed from the page)."
    import sys, json
    if "ipywidgets" not in sys.modules: return
    from ipywidgets.widgets.widget import _instances
    if not _instances: return
    from IPython.display import display
    bw, state, figures = sys.modules.get("plotly.basewidget"), {{}}, {{}}
    for mid, w in list(_instances.items()):
        try:
            if bw is not None and isinstance(w, bw.BaseFigureWidget):
                import plotly.io as pio
                figures[mid] = json.loads(pio.to_json(w, validate=False)); continue
            st = w.get_state()
        except Exception: continue   # that widget shows as nothing rather than failing the build
        st = {{k: v for k, v in st.items() if not k.startswith(("_esm", "_css"))
              and isinstance(v, (str, int, float, bool, list, dict, type(None)))}}
        state[mid] = {{"model_name": st.get("_model_name", ""), "state": st}}
    display({{"{SNAPSHOT_MIME}": {{"state": state, "figures": figures}}}}, raw=True)
'''


def skip_rule(nb, flags: set, path: Path = None):
    """nbdev-test's rule for the cells it leaves out (`nbdev.test._skip_cell`, from the same fastcore pieces, and its
    `.notest` file beside a notebook): a function cell -> why it is not run ("" when it runs)."""
    from fastcore.basics import str2bool
    from fastcore.nbio import does_cell_eval, fm_default_eval, nb_frontmatter, nb_lang
    fm = nb_frontmatter(nb)
    whole = ("skip_exec" if str2bool(fm.get("skip_exec", False)) else "not python" if nb_lang(nb) != "python"
             else ".notest" if path is not None and (path.parent / ".notest").exists() else "")
    if whole: return lambda cell: whole if cell.cell_type == "code" else ""
    default = fm_default_eval(fm)

    def why(cell) -> str:
        if cell.cell_type != "code": return ""
        if not does_cell_eval(cell, default): return "eval: false"
        return ", ".join(sorted(flags & set(cell.directives)))
    return why


def prepare_for_execution(nb, flags: set, path: Path = None) -> list:
    """nbdev's `add_show_docs` on the notebook (so exported names are documented by this run), `show_doc` imported
    first, the cells nbdev-test leaves out tagged to be skipped, a widget snapshot after each cell, each cell's place
    in the notebook file kept (`lsrl_cell`, for error reports). `nb` is a fastcore notebook (`read_nb`); returns the
    skipped cells as (index in the file, reason)."""
    from nbdev.process import NBProcessor
    from nbdev.processors import populate_language, add_show_docs
    from fastcore.nbio import mk_cell
    for i, cell in enumerate(nb.cells): cell.metadata["lsrl_cell"] = i
    why_skipped = skip_rule(nb, flags, path)
    NBProcessor(nb=nb, procs=[populate_language, add_show_docs], rm_directives=False).process()
    skipped = []
    for cell in nb.cells:
        if cell.get("has_sd"):
            cell.metadata["lsrl_show_doc"] = True
            del cell["has_sd"]
        if why := why_skipped(cell):
            cell.metadata.setdefault("tags", []).append(SKIP_TAG)
            cell.metadata["lsrl_skipped"] = why
            skipped.append((cell.metadata.get("lsrl_cell"), why))
    setup = mk_cell(SETUP_CODE, "code")
    setup.metadata["lsrl_injected"] = True
    cells = [setup]
    for cell in nb.cells:   # after each cell, the state of any widgets it may have shown
        cells.append(cell)
        if cell.cell_type == "code" and SKIP_TAG not in cell.metadata.get("tags", []):
            snap = mk_cell("_lsrl_docs_snapshot()", "code")
            snap.metadata["lsrl_injected"] = True
            cells.append(snap)
    nb.cells = cells
    return skipped


class NotebookFailed(RuntimeError):
    "A notebook's execution failed: `str()` is the short report, `detail` the whole traceback and the cell's output."
    def __init__(self, report: str, detail: str = ""):
        super().__init__(report)
        self.detail = detail


def _plain(s) -> str: return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", "".join(s) if isinstance(s, list) else str(s or ""))


def _clip(s: str, n: int) -> str: return s if len(s) <= n else s[:n - 3] + "..."


def where(nb, index) -> str:
    """The failing cell as a person finds it in the .ipynb file: "cell 7 of 31 (`first line`)"; a cell the build
    added says which notebook cell it follows."""
    if index is None or not 0 <= index < len(nb.cells): return "before the first cell (kernel start-up)"
    cell = nb.cells[index]
    total = 1 + max((c.metadata.get("lsrl_cell", -1) for c in nb.cells), default=-1)
    def first_line(c):
        lines = [x for x in _plain(c.source).splitlines() if x.strip() and not x.lstrip().startswith("#|")]
        return f" (`{_clip(lines[0].strip(), 80)}`)" if lines else ""
    if "lsrl_cell" in cell.metadata: return f"cell {cell.metadata['lsrl_cell'] + 1} of {total}{first_line(cell)}"
    prev = next((c for c in reversed(nb.cells[:index]) if "lsrl_cell" in c.metadata), None)
    what = "show_doc cell" if cell.metadata.get("lsrl_show_doc") or "show_doc(" in _plain(cell.source) else \
        "cell the docs build adds"
    after = f"after cell {prev.metadata['lsrl_cell'] + 1} of {total}{first_line(prev)}" if prev else "first"
    return f"the {what} {after}"


def failure_report(nb, index, ename: str, evalue: str, tb: list, frames: int = 3) -> str:
    "Short: the cell, the exception's first line(s), the last `frames` frames of the traceback, lines clipped."
    value = _clip(" ".join(_plain(evalue).split()), 300)
    lines = [f"{where(nb, index)}: {ename}: {value}" if value else f"{where(nb, index)}: {ename}"]
    blocks = [_plain(b).rstrip() for b in tb or []][1:-1]   # IPython's: a header, one block per frame, the message
    for b in blocks[-frames:]:
        body = [x for x in b.splitlines() if x.strip()]
        lines += ["    " + _clip(x, 160) for x in body[:8]] + (["    ..."] if len(body) > 8 else [])
    return "\n".join(lines)


def execute(nb_dict: dict, cwd: Path, timeout: int, kernel_log: Path) -> dict:
    """Run every cell not tagged SKIP_TAG in a fresh python3 kernel started in `cwd`. A cell that raises, a cell
    timeout and a dead kernel raise `NotebookFailed` (the notebook stops there). The kernel's own stderr (start-up
    chatter, crashes) goes to `kernel_log`."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
    nb = nbformat.reads(json.dumps(nb_dict), as_version=4)   # (joins the line lists of the JSON form)
    current = [None]
    def started(cell, cell_index, **kw): current[0] = cell_index
    client = NotebookClient(nb, timeout=timeout, startup_timeout=120, kernel_name="python3", allow_errors=False,
                            skip_cells_with_tag=SKIP_TAG, store_widget_state=False, record_timing=False,
                            on_cell_execute=started, resources={"metadata": {"path": str(cwd)}})
    kernel_log.parent.mkdir(parents=True, exist_ok=True)
    with open(kernel_log, "w") as err:
        try: client.execute(stderr=err)
        except CellExecutionError as e:
            raise NotebookFailed(failure_report(nb, current[0], e.ename, e.evalue, _error_traceback(nb, current[0])),
                                 _plain(str(e))) from None
        except CellTimeoutError as e:
            raise NotebookFailed(f"{where(nb, current[0])}: timed out after {timeout}s (pyproject cell_timeout)",
                                 _plain(str(e))) from None
        except DeadKernelError as e:
            raise NotebookFailed(f"{where(nb, current[0])}: the kernel died ({_clip(str(e), 200)}); "
                                 f"its stderr: {kernel_log}", _plain(str(e))) from None
    return nb


def stderr_report(nb) -> str:
    """'' when no cell wrote to stderr, else a short report naming the first cell that did and what it wrote. On the
    site each such output is a warning box (a library's FutureWarning, a logged notice), so the build fails on it: the
    fix belongs where it comes from (the call that warns, or a filter on that library's logger or warning)."""
    hits = []
    for i, cell in enumerate(nb.cells):
        for o in cell.get("outputs", []):
            if o.get("output_type") == "stream" and o.get("name") == "stderr" and _plain(o.get("text")).strip():
                hits.append((i, _plain(o.get("text")).strip().splitlines()))
                break
    if not hits: return ""
    i, lines = hits[0]
    more = f" ({len(hits) - 1} more cell(s) did too)" if len(hits) > 1 else ""
    return (f"{where(nb, i)}: wrote to stderr, a warning box on the page{more}: {_clip(lines[0], 300)}"
            + (f" [+{len(lines) - 1} line(s)]" if len(lines) > 1 else "")
            + "\n    silence or fix it at its source (see the kernel's output in the notebook)")


def _error_traceback(nb, index) -> list:
    "The traceback of the error output nbclient left on the failing cell."
    if index is None: return []
    errs = [o for o in nb.cells[index].get("outputs", []) if o.get("output_type") == "error"]
    return errs[-1].get("traceback", []) if errs else []


# ---------------------------------------------------------------------------------------------------------------
# outputs that need a browser-side library: plotly figures and widgets

def plotly_html(fig: dict, div_id: str) -> str:
    "A figure as a div + script; plotly.js itself is loaded once per page by the theme (docs/overrides/main.html)."
    import plotly.io as pio
    return pio.to_html(fig, include_plotlyjs=False, full_html=False, validate=False, div_id=div_id,
                       config=fig.get("config") or {"responsive": True})


def _model_ref(v):
    return v[len("IPY_MODEL_"):] if isinstance(v, str) and v.startswith("IPY_MODEL_") else None


class WidgetSnapshot:
    """Static HTML for a widget view from a snapshot taken in the kernel right after its cell ran: HTML and labels show
    their value, plotly FigureWidgets become static figures, progress bars a <progress>, other controls their label
    and value, boxes lay out their children. `interactive` says whether it had anything a reader could have moved."""
    def __init__(self, snapshot: dict, new_plot):
        self.state, self.figures, self.new_plot = snapshot.get("state", {}), snapshot.get("figures", {}), new_plot
        self.interactive = False

    def render(self, mid: str, depth=0) -> str:
        if mid in self.figures:
            self.interactive = True
            return self.new_plot(self.figures[mid])
        m = self.state.get(mid)
        if m is None or depth > 20: return ""
        st, name = m.get("state", {}), m.get("model_name", "")
        kids = [k for k in map(_model_ref, st.get("children", [])) if k]
        if "children" in st:
            row = name in ("HBoxModel", "GridBoxModel")
            inner = "".join(f'<div class="lsrl-w-item">{self.render(k, depth + 1)}</div>' for k in kids)
            return f'<div class="lsrl-w-box {"lsrl-w-row" if row else "lsrl-w-col"}">{inner}</div>'
        desc = html.escape(str(st.get("description", "") or ""))
        value = st.get("value")
        if name in ("HTMLModel", "HTMLMathModel"): return f'<div class="lsrl-w-html">{value or ""}</div>'
        if name == "LabelModel": return f'<div class="lsrl-w-label">{html.escape(str(value or ""))}</div>'
        if name == "OutputModel": return "".join(self.output_html(o) for o in st.get("outputs", []))
        if name in ("FloatProgressModel", "IntProgressModel"):
            return f'{desc} <progress value="{value}" max="{st.get("max", 100)}"></progress>'
        if name.endswith(("LayoutModel", "StyleModel")) or name == "ImageModel": return ""
        self.interactive = True
        if name in ("ButtonModel", "ToggleButtonModel"):
            return f'<span class="lsrl-w-control lsrl-w-button">{desc or html.escape(str(value or ""))}</span>'
        labels, idx = st.get("_options_labels") or st.get("options"), st.get("index")
        if isinstance(labels, list) and isinstance(idx, int) and 0 <= idx < len(labels): value = labels[idx]
        if value is None: return ""
        return f'<span class="lsrl-w-control">{desc + ": " if desc else ""}<b>{html.escape(str(value))}</b></span>'

    def output_html(self, o: dict) -> str:
        data = o.get("data", {})
        if PLOTLY_MIME in data: return self.new_plot(data[PLOTLY_MIME])
        if "text/html" in data:
            return "".join(data["text/html"]) if isinstance(data["text/html"], list) else data["text/html"]
        text = o.get("text") or data.get("text/plain") or ""
        text = "".join(text) if isinstance(text, list) else text
        return f"<pre>{html.escape(text)}</pre>" if text else ""


def static_outputs(nb, page: Page):
    """On the executed notebook: plotly figures to HTML, widget views to a static snapshot of the widgets as they were
    after their cell ran, the injected cells dropped, and no widget state kept (it would pull a manager from a CDN)."""
    nb.metadata.pop("widgets", None)
    stem = re.sub(r"\W", "-", page.rel.with_suffix("").as_posix())

    def new_plot(fig: dict) -> str:
        page.plots += 1
        return plotly_html(fig, f"plot-{stem}-{page.plots}")
    cells, last = [], None
    for cell in nb.cells:
        cell.metadata.pop("lsrl_cell", None)
        if cell.metadata.get("lsrl_injected"):
            snaps = [o["data"][SNAPSHOT_MIME] for o in cell.get("outputs", []) if SNAPSHOT_MIME in o.get("data", {})]
            if last is not None and snaps: _widgets_to_html(last, WidgetSnapshot(snaps[0], new_plot), page)
            last = None
            continue
        cells.append(cell)
        if cell.cell_type != "code": continue
        for o in cell.get("outputs", []):
            data = o.get("data") or {}
            if PLOTLY_MIME in data: o["data"] = {"text/html": new_plot(data[PLOTLY_MIME])}
        last = cell
    nb.cells = cells
    for cell in cells:   # a widget view with no snapshot (none should be left): a note instead of a broken output
        _widgets_to_html(cell, WidgetSnapshot({}, new_plot), page)


def _widgets_to_html(cell, snap: WidgetSnapshot, page: Page):
    for o in cell.get("outputs", []):
        data = o.get("data") or {}
        if WIDGET_VIEW_MIME not in data: continue
        page.widgets += 1
        snap.interactive = False
        body = snap.render(data[WIDGET_VIEW_MIME].get("model_id", ""))
        if not body:
            body, snap.interactive = "<pre>(widget)</pre>", True
        note = ('<div class="lsrl-w-note">Interactive widget, shown here as it was after this cell ran. '
                'Run the notebook in Jupyter to use it.</div>') if snap.interactive else ""
        live = " lsrl-w-live" if snap.interactive else ""
        o["data"] = {"text/html": f'<div class="lsrl-widget{live}">{note}{body}</div>'}
        o.get("metadata", {}).pop(WIDGET_VIEW_MIME, None)


# ---------------------------------------------------------------------------------------------------------------
# step 2: nbdev's docs processors

def nbdev_process(nb):
    "nbdev's docs processors (the `nbdev-proc-nbs` list) on an executed notebook, except re-running `show_doc`."
    from nbdev.process import NBProcessor
    from nbdev.processors import FilterDefaults, exec_show_docs, insert_warning
    procs = [p for p in FilterDefaults().procs() if p not in (exec_show_docs, insert_warning)]
    for cell in nb.cells:   # mv_exports puts `exports` source after the show_doc cell that add_show_docs added
        if cell.get("metadata", {}).get("lsrl_show_doc"): cell.has_sd = True
    NBProcessor(nb=nb, procs=procs, rm_directives="quarto").process()
    for cell in nb.cells: cell.pop("has_sd", None)
    return nb


# ---------------------------------------------------------------------------------------------------------------
# step 3: from nbdev's Quarto-flavoured notebook to what mkdocs-jupyter shows

_re_opt = re.compile(r"^\s*#\|\s*([\w-]+)\s*:\s*(.*?)\s*$")
_re_src_link = re.compile(r"\[source\]\((\S+?)\)\{[^}\n]*\}")


def split_options(source: str):
    "Quarto `#| key: value` lines at the top of a code cell -> (options, remaining source)."
    lines, opts = source.splitlines(), {}
    while lines and (m := _re_opt.match(lines[0])):
        opts[m.group(1)] = m.group(2).strip("'\"")
        lines.pop(0)
    return opts, "\n".join(lines).strip("\n")


class Linker:
    "Links nbdev made to the Quarto site (doc_host + doc_baseurl + page.html#name) become links inside this site."
    def __init__(self, pages: list):
        from nbdev.config import get_config
        from mkdocs_jupyter.utils import slugify
        cfg = get_config()
        base = (str(cfg.get("doc_host", "")) + str(cfg.get("doc_baseurl", ""))).rstrip("/")
        self.re = re.compile(re.escape(base) + r"/([\w./-]+\.html)(#[^\s)\"'>]*)?") if base else None
        self.known = {p.url for p in pages}
        self.slugify = slugify

    def __call__(self, text: str, page: Page) -> str:
        if not self.re: return text
        up = "../" * (len(page.dest.parts) - 1)
        def sub(m):
            target, anchor = m.group(1), m.group(2) or ""
            if target not in self.known: return m.group(0)
            if anchor: anchor = "#" + self.slugify(anchor[1:].replace("%20", " "))
            return up + target + anchor
        return self.re.sub(sub, text)


def show_doc_markdown(md: str) -> str:
    "nbdev's show_doc markdown (Quarto syntax) as plain markdown + HTML mkdocs-jupyter renders."
    md = _re_src_link.sub(lambda m: f'<a class="lsrl-source" href="{m.group(1)}" target="_blank">source</a>', md)
    return md.strip()


def to_mkdocs(nb, page: Page, link) -> dict:
    "Apply Quarto cell options, turn show_doc output into markdown cells, fix links; a plain nbformat dict."
    from fastcore.nbio import nb2dict
    from nbformat.v4 import new_markdown_cell
    fm = getattr(nb, "frontmatter_", None) or nb.get("frontmatter_") or {}
    cells = []
    title, desc = fm.get("title"), fm.get("description")
    if title:
        cells.append(new_markdown_cell(f"# {title}" + (f"\n\n> {desc}" if desc else "")))
    for c in nb2dict(nb)["cells"]:
        src = "".join(c.get("source", ""))
        if c["cell_type"] == "raw":
            if not src.lstrip().startswith("---"): cells.append(c)   # (the frontmatter is shown as the title above)
            continue
        if c["cell_type"] == "markdown":
            if src.strip().startswith("<!-- WARNING: THIS FILE WAS AUTOGENERATED"): continue
            c["source"] = link(src, page)
            cells.append(c)
            continue
        opts, src = split_options(src)
        if _false(opts.get("include")): continue
        outputs = [] if _false(opts.get("output")) else c.get("outputs", [])
        md_outs = [o for o in outputs if "text/markdown" in o.get("data", {})]
        if _false(opts.get("echo")) and outputs and len(md_outs) == len(outputs):
            for o in md_outs:   # show_doc: its markdown becomes the page's own markdown
                md = o["data"]["text/markdown"]
                md = "".join(md) if isinstance(md, list) else md
                cells.append(new_markdown_cell(link(show_doc_markdown(md), page)))
            continue
        c["source"], c["outputs"] = src, outputs
        tags = [t for t in c.get("metadata", {}).get("tags", []) if t != SKIP_TAG]
        if why := c.get("metadata", {}).get("lsrl_skipped"): tags.append(f"not run for the docs ({why})")
        if _false(opts.get("echo")): tags.append(HIDE_INPUT_TAG)
        c["metadata"] = {"tags": tags} if tags else {}
        if not src.strip() and not outputs: continue
        for o in outputs:
            d = o.get("data", {})
            for k in ("text/markdown", "text/html"):
                if k in d: d[k] = link("".join(d[k]) if isinstance(d[k], list) else d[k], page)
        cells.append(c)
    meta = {k: v for k, v in nb.get("metadata", {}).items() if k in ("kernelspec", "language_info")}
    return {"cells": cells, "metadata": meta, "nbformat": 4, "nbformat_minor": 5}


# ---------------------------------------------------------------------------------------------------------------
# one notebook, then the site

def build_page(page: Page, timeout: int, flags: set, work: Path, allow_stderr: bool = False):
    """Steps 1 and 2 for one notebook: (page, processed notebook); the kernel's stderr goes to work/logs. A cell's
    stderr output fails the page (`stderr_report`) unless `allow_stderr`, which only logs it."""
    from fastcore.nbio import read_nb, dict2nb, nb2dict
    t0 = time.time()
    page.sha1 = hashlib.sha1(page.src.read_bytes()).hexdigest()
    nb = read_nb(page.src)
    page.skipped = prepare_for_execution(nb, flags, page.src)
    kernel_log = work / "logs" / (page.rel.as_posix().replace("/", "__") + ".log")
    ran = execute(nb2dict(nb), page.src.parent, timeout, kernel_log)
    if report := stderr_report(ran):
        if not allow_stderr: raise NotebookFailed(report)
        log(f"{page.rel}: {report.splitlines()[0]}")
    static_outputs(ran, page)
    nb = dict2nb(json.loads(json.dumps(ran)))
    nb["path_"] = str(page.src)
    nbdev_process(nb)
    fm = getattr(nb, "frontmatter_", None) or {}
    out = Path(fm.get("output-file") or page.rel.with_suffix(".html").name)
    page.dest = page.rel.parent / out.with_suffix(".ipynb").name
    page.title = fm.get("title") or page.rel.stem
    page.seconds = time.time() - t0
    return page, nb


def make_nav(pages: list) -> list:
    "Home, the module notebooks in file order, then one section per sub-folder."
    nav, sections = [], {}
    for p in pages:
        item = {p.title: p.dest.as_posix()}
        if len(p.rel.parts) == 1:
            if p.rel.name == "index.ipynb": nav.insert(0, {"Home": p.dest.as_posix()})
            else: sections.setdefault("", []).append(item)
        else: sections.setdefault(p.rel.parts[0], []).append(item)
    if sections.get(""): nav.append({"Modules": sections.pop("")})
    for folder, items in sections.items(): nav.append({folder.replace("_", " ").title(): items})
    return nav


def copy_assets(nbs: Path, docs: Path):
    "The theme's files, plotly.js from the plotly package, MathJax from the mathjax package, images beside notebooks."
    import plotly, mathjax
    shutil.copytree(HERE / "assets", docs / "assets", dirs_exist_ok=True)
    (docs / "assets" / "lsrl-code.css").write_text(CODE_CSS)
    shutil.copy(Path(plotly.__file__).parent / "package_data" / "plotly.min.js", docs / "assets" / "plotly.min.js")
    mj = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5" / "tex-svg-full.js"
    (docs / "assets" / "mathjax").mkdir(parents=True, exist_ok=True)
    shutil.copy(mj, docs / "assets" / "mathjax" / "tex-svg-full.js")
    for f in nbs.rglob("*"):
        rel = f.relative_to(nbs)
        if f.is_file() and f.suffix.lower() in ASSET_SUFFIXES and not any(p[0] in "_." for p in rel.parts):
            (docs / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(f, docs / rel)


def kernel_env() -> dict:
    "Environment the kernels inherit."
    return {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),   # one torch thread per kernel
            "PLOTLY_RENDERER": "plotly_mimetype",    # figures come out as JSON; static_outputs makes them HTML
            "IN_TEST": "1",                          # as under nbdev-test and nbdev's own docs processing
            "PYDEVD_DISABLE_FILE_VALIDATION": "1"}   # no debugger warning on the kernels' stderr


def execute_all(pages: list, timeout: int, flags: set, work: Path, jobs: int, start_jobs: int = None,
                allow_stderr: bool = False) -> list:
    """Steps 1 and 2 for every page, `jobs` kernels at once (`start_jobs` of them until a line arrives on stdin or
    stdin closes); a notebook that fails does not stop the others (as with nbdev-test). Returns (page, processed
    notebook or None); a failed page has `error` set (the short report) and its whole traceback in
    work/logs/<notebook>.error.txt."""
    jobs = max(1, jobs)
    start_jobs = min(jobs, max(1, start_jobs or jobs))
    gate = threading.Semaphore(start_jobs)
    if start_jobs < jobs:
        def more():
            sys.stdin.readline()
            log(f"now {jobs} kernel(s)")
            for _ in range(jobs - start_jobs): gate.release()
        threading.Thread(target=more, daemon=True).start()

    def one_page(p):
        t0 = time.time()
        try:
            r = build_page(p, timeout, flags, work, allow_stderr)
        except Exception as e:
            p.seconds = time.time() - t0
            name = p.src.relative_to(ROOT).as_posix() if p.src.is_relative_to(ROOT) else p.rel.as_posix()
            if isinstance(e, NotebookFailed): p.error, detail = f"{name}, {e}", e.detail
            else:   # the build's own processing (not a notebook cell) went wrong
                detail = traceback.format_exc()
                p.error = f"{name}: the docs build failed after executing it:\n{detail[-3000:]}"
            errlog = work / "logs" / (p.rel.as_posix().replace("/", "__") + ".error.txt")
            errlog.parent.mkdir(parents=True, exist_ok=True)
            errlog.write_text(p.error + "\n\n" + detail)
            log(f"{p.rel}: FAILED after {p.seconds:.0f}s ({errlog})")
            return p, None
        log(f"{p.rel}: {p.seconds:.0f}s" + (f", {len(p.skipped)} cell(s) not run" if p.skipped else ""))
        return r
    # the notebooks that train (RUN_FIRST) start first, so the last ones to run are short and every kernel stays busy
    # to the end. A kernel slot (the gate) is taken before the next notebook is, so they start in that order.
    rank = lambda p: next((i for i, g in enumerate(RUN_FIRST) if fnmatch.fnmatch(p.rel.as_posix(), g)), None)
    first = sorted((p for p in pages if rank(p) is not None), key=rank)
    queue = iter(first + [p for p in pages if p not in first])
    taking, stop, done = threading.Lock(), threading.Event(), {}

    def worker():
        while not stop.is_set():
            with gate:
                with taking: p = next(queue, None)
                if p is None or stop.is_set(): return
                done[id(p)] = one_page(p)

    with ThreadPoolExecutor(jobs) as ex:
        workers = [ex.submit(worker) for _ in range(jobs)]
        try:
            for f in workers: f.result()
        except BaseException:   # Ctrl-C: nothing new starts; running kernels finish their notebook
            stop.set()
            raise
    return [done[id(p)] for p in pages]


def failures_report(pages: list, work: Path) -> str:
    bad = [p for p in pages if p.error]
    return (f"{len(bad)} of {len(pages)} notebooks failed:\n\n" + "\n\n".join(p.error for p in bad)
            + f"\n\n(whole tracebacks: {work / 'logs'}/*.error.txt)")


def build(site_dir: Path, work: Path, jobs: int = 2, only=(), exclude=(), timeout: int = None, site: bool = True,
          start_jobs: int = None, allow_stderr: bool = False):
    """Execute every notebook, then (`site`) render the site: returns the pages built. Raises RuntimeError when a
    notebook fails (after all of them ran; the message is `failures_report`; a cell that wrote to stderr counts
    unless `allow_stderr`) or when the site cannot be built. work/execution.json records every notebook's outcome
    either way."""
    os.chdir(ROOT)   # nbdev's get_config() and the relative paths below
    os.environ.update(kernel_env())
    from nbdev.config import get_config
    cfg = get_config()
    timeout = timeout or int(cfg.get("cell_timeout", 600) or 600)
    nbs, flags = Path(cfg.nbs_path), _tst_flags()
    pages = find_notebooks(nbs)
    if only: pages = [p for p in pages if any(fnmatch.fnmatch(p.rel.as_posix(), g) for g in only)]
    if exclude: pages = [p for p in pages if not any(fnmatch.fnmatch(p.rel.as_posix(), g) for g in exclude)]
    if not pages: raise SystemExit(f"no notebooks found under {nbs}")
    if work.exists(): shutil.rmtree(work)
    docs = work / "pages"   # mkdocs' docs_dir; beside it logs/ (each kernel's stderr), execution.json, manifest.json
    docs.mkdir(parents=True)
    kernels = f"{start_jobs} kernel(s), then {jobs}" if start_jobs and start_jobs < jobs else f"{jobs} kernel(s)"
    log(f"executing {len(pages)} notebooks with {kernels}, {timeout}s per cell, not running cells flagged "
        f"{sorted(flags)} (and eval: false, skip_exec)")
    t0 = time.time()
    done = execute_all(pages, timeout, flags, work, jobs, start_jobs, allow_stderr)
    executed = dict(jobs=jobs, cell_timeout=timeout, flags=sorted(flags), seconds=round(time.time() - t0, 1),
                    notebooks=[dict(source=p.rel.as_posix(), ok=not p.error, seconds=round(p.seconds, 1),
                                    skipped=p.skipped, error=p.error, sha1=p.sha1) for p in pages])
    (work / "execution.json").write_text(json.dumps(executed, indent=1))
    if any(p.error for p in pages): raise RuntimeError(failures_report(pages, work))
    log(f"notebooks executed in {time.time() - t0:.0f}s")
    if not site: return pages
    import nbformat
    link = Linker(pages)
    for page, nb in done:
        node = nbformat.reads(json.dumps(to_mkdocs(nb, page, link)), as_version=4)
        dest = docs / page.dest
        dest.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(node, str(dest))
    copy_assets(nbs, docs)
    log("rendering with mkdocs")
    mkdocs_build(pages, docs, site_dir)
    manifest = [dict(source=p.rel.as_posix(), page=p.url, title=p.title, plots=p.plots, widgets=p.widgets,
                     skipped=[i for i, _ in p.skipped], seconds=round(p.seconds, 1)) for p in pages]
    (work / "manifest.json").write_text(json.dumps(manifest, indent=1))
    log(f"site in {site_dir} ({time.time() - t0:.0f}s); pages: " + ", ".join(f"{m['page']}" for m in manifest))
    return pages


def mkdocs_build(pages: list, docs: Path, site_dir: Path):
    from mkdocs.config import load_config
    from mkdocs.commands.build import build as mk_build
    logging.basicConfig(format="[mkdocs] %(levelname)s %(message)s")
    logging.getLogger("mkdocs").setLevel(logging.WARNING)
    import yaml
    extra_css = yaml.safe_load((HERE / "mkdocs.yml").read_text()).get("extra_css", []) + ["assets/lsrl-code.css"]
    cfg = load_config(str(HERE / "mkdocs.yml"), docs_dir=str(docs), site_dir=str(site_dir), nav=make_nav(pages),
                      extra_css=extra_css, strict=True)   # a warning (a nav entry with no page, a bad link) fails it
    mk_build(cfg)
    remote = [f"{f.relative_to(site_dir)}: {tag[:120]}" for f in sorted(site_dir.rglob("*.html"))
              for tag in remote_fetches(f.read_text(encoding="utf-8"))]
    if remote: raise RuntimeError("the site would load files from the network:\n" + "\n".join(remote[:20]))


_re_tag = re.compile(r"<(script|img|iframe|link|source|video|audio)\b[^>]*>", re.I)
_re_remote_url = re.compile(r"\b(src|href)\s*=\s*[\"']?(?:https?:)?//", re.I)


def remote_fetches(page_html: str) -> list:
    "Tags in `page_html` that make the browser fetch from another host (a script, image, frame or stylesheet)."
    out = []
    for m in _re_tag.finditer(page_html):
        tag, name = m.group(0), m.group(1).lower()
        if name == "link" and not re.search(r"rel\s*=\s*[\"']?(stylesheet|preload|modulepreload|icon)", tag, re.I):
            continue
        if _re_remote_url.search(tag): out.append(tag)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--site-dir", default=str(ROOT / "_site"), help="where the site goes (default _site)")
    ap.add_argument("--work-dir", default=str(ROOT / "_mkdocs"),
                    help="processed notebooks for mkdocs, logs, execution.json (default _mkdocs)")
    ap.add_argument("--jobs", type=int, default=int(os.environ.get("DOCS_JOBS", 2)), help="notebooks executed at once")
    ap.add_argument("--start-jobs", type=int, default=None,
                    help="notebooks at once until a line arrives on stdin (or it closes), then --jobs: the test suite "
                         "builds beside its other tests and says when they are done")
    ap.add_argument("--timeout", type=int, default=None, help="seconds per cell (default: pyproject cell_timeout)")
    ap.add_argument("--only", nargs="*", default=(), help="only notebooks matching these globs (relative to nbs/)")
    ap.add_argument("--exclude", nargs="*", default=(), help="leave out notebooks matching these globs")
    ap.add_argument("--no-site", action="store_true", help="only execute the notebooks (no mkdocs)")
    ap.add_argument("--allow-stderr", action="store_true",
                    help="report a cell's stderr output (a warning box on the page) instead of failing its notebook")
    a = ap.parse_args(argv)
    try: build(Path(a.site_dir).resolve(), Path(a.work_dir).resolve(), a.jobs, a.only, a.exclude, a.timeout,
               site=not a.no_site, start_jobs=a.start_jobs, allow_stderr=a.allow_stderr)
    except RuntimeError as e:
        print(f"\n{e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
