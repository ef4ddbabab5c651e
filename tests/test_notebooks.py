"""The notebooks' own tests. `make test` executes every notebook once, in the docs build (the session fixture
`docs_build` in conftest.py runs docs/build.py in the background while the rest of the suite runs; no separate
nbdev-test run): every notebook nbdev-test would run, the cells it leaves out (pyproject tst_flags notest/slow/cuda,
`eval: false`, skip_exec) not run, a fresh kernel per notebook, pyproject's cell_timeout per cell. A cell that raises
fails here with the notebook, the cell and the last frames; these tests need no browser (tests/test_docs_browser.py
loads the same site in Chromium)."""
import hashlib, warnings
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def nbdev_test_notebooks() -> list:
    "What `nbdev-test` would run: nbdev's own glob of nbs/ (no `_`/`.` files or folders), relative to nbs/."
    from nbdev.config import get_config
    from nbdev.doclinks import nbglob
    nbs = get_config(ROOT).nbs_path
    return sorted(p.relative_to(nbs).as_posix() for p in nbglob(nbs, as_path=True))


def test_every_notebook_executes_cleanly(docs_build):
    ex = docs_build.execution
    if ex is None: pytest.fail(docs_build.failed() or "docs/build.py wrote no execution.json", pytrace=False)
    ran = [n["source"] for n in ex["notebooks"]]
    assert sorted(ran) == nbdev_test_notebooks() and len(set(ran)) == len(ran)   # each one, once
    assert ex["flags"] == ["cuda", "notest", "slow"] and ex["cell_timeout"] == 600   # as pyproject's [tool.nbdev]
    failed = [n["error"] for n in ex["notebooks"] if not n["ok"]]
    if failed: pytest.fail(f"{len(failed)} of {len(ran)} notebooks failed:\n\n" + "\n\n".join(failed), pytrace=False)


def test_the_cells_run_are_the_cells_nbdev_test_runs(docs_build):
    "Per notebook, the code cells the build ran (all but those it skipped) are exactly nbdev's `nb_test_cells`."
    from fastcore.nbio import read_nb
    from nbdev.test import nb_test_cells
    ex = docs_build.execution
    if ex is None: pytest.skip("no execution.json: see test_every_notebook_executes_cleanly")
    flags, nbs, wrong = ex["flags"], ROOT / "nbs", []
    for n in ex["notebooks"]:
        fn = nbs / n["source"]
        if hashlib.sha1(fn.read_bytes()).hexdigest() != n["sha1"]:   # edited while the suite ran: nothing to compare
            warnings.warn(f"{n['source']} changed since the docs build executed it: cells not compared")
            continue
        skipped = {i for i, _ in n["skipped"] if i is not None}
        ran = [i for i, c in enumerate(read_nb(fn).cells) if c.cell_type == "code" and i not in skipped]
        expected = [c.idx_ for c in nb_test_cells(fn, flags)]
        if ran != expected: wrong.append(f"{n['source']}: ran cells {ran}, nbdev-test runs {expected}")
    assert not wrong, "\n".join(wrong)


def test_site_builds_from_the_executed_notebooks(docs_build):
    ex = docs_build.execution
    if ex is not None and not all(n["ok"] for n in ex["notebooks"]):
        pytest.skip("notebooks failed: see test_every_notebook_executes_cleanly")
    if docs_build.returncode: pytest.fail(docs_build.failed(), pytrace=False)
    pages = {m["source"]: m for m in docs_build.manifest}
    assert sorted(pages) == nbdev_test_notebooks()
    assert all((docs_build.site / m["page"]).is_file() for m in pages.values())
