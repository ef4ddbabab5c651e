import json, os, shutil, signal, subprocess, sys, tempfile, time
from dataclasses import dataclass
from pathlib import Path
# One torch thread, here and in every process a test starts (the CLI, lsrl.tiny, the killed training run): the models
# under test are tiny (little work to split), and on a shared 2-core machine 2-thread processes spin-wait
# each other to a crawl (measured: a tiny generate 1.2 s with 1 thread, 10.3 s with 2, at load 5.5). Set
# OMP_NUM_THREADS to choose another count.
os.environ.setdefault("OMP_NUM_THREADS", "1")
import pytest  # noqa: E402
import torch  # noqa: E402
from hypothesis import settings  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))  # tests/golden.py and helpers
torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

# CI machines are shared: a per-example deadline would fail on timing noise, not on behaviour
settings.register_profile("lsrl", deadline=None, print_blob=True)
settings.load_profile("lsrl")

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"


def needs_docs(item) -> bool: return "docs_build" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(config, items):
    # the tests on the docs build last (the notebooks' own first), so that the build (started in the background once
    # collection is done) runs beside the rest of the suite
    docs = sorted((i for i in items if needs_docs(i)), key=lambda i: i.path.name != "test_notebooks.py")
    items[:] = [i for i in items if not needs_docs(i)] + docs
    if torch.cuda.is_available(): return
    skip = pytest.mark.skip(reason="needs a CUDA GPU: run on a lent GPU machine (`pytest -m cuda`)")
    for item in items:
        if "cuda" in item.keywords: item.add_marker(skip)


@pytest.fixture(autouse=True)
def no_openai_key(monkeypatch):
    "No test reaches a real grader: with a key set, `grader='auto'` and the demo would go to the network."
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


@pytest.fixture
def tiny():
    from lsrl.huginn import HuginnConfig, HuginnForCausalLM
    torch.manual_seed(0)
    return HuginnForCausalLM(HuginnConfig.tiny()).eval()


@pytest.fixture(scope="session")
def runs(tmp_path_factory) -> list:
    """Two tiny runs, the tiny Huginn trained for two updates in `lsrl` and `hrpo` mode, once per session
    (tests/test_runs.py reads them back; tests/test_browser.py shows them in JupyterLab)."""
    from lsrl.runs import demo_runs
    return demo_runs(tmp_path_factory.getbasetemp() / "lsrl-runs", modes=("lsrl", "hrpo"), updates=2, num_steps=4)


@dataclass
class DocsBuild:
    "One run of docs/build.py: the test session's only execution of the notebooks, and the site built from them."
    returncode: int
    site: Path            # the site (complete only when returncode is 0)
    work: Path            # execution.json, manifest.json, logs/ (each kernel's stderr, each failure's traceback)
    output: str           # what the build printed (also in tests/artifacts/docs_build.log)
    seconds: float

    @property
    def execution(self):
        "Each notebook's outcome (docs/build.py writes it once every notebook has run); None if it never got there."
        f = self.work / "execution.json"
        return json.loads(f.read_text()) if f.exists() else None

    @property
    def manifest(self) -> list:
        return json.loads((self.work / "manifest.json").read_text())

    def failed(self) -> str:
        "'' when the site was built, else why not, short (the build's own report, see docs/build.py)."
        if self.returncode == 0: return ""
        i = self.output.rfind(" notebooks failed:")   # the build's report on the notebooks, else the output's end
        why = self.output[self.output.rfind("\n", 0, i) + 1:] if i >= 0 else self.output[-4000:]
        return f"the docs build failed (exit {self.returncode}; tests/artifacts/docs_build.log):\n{why.strip()}"


DOCS_TIMEOUT = 1800   # seconds for the whole build
_docs = {}             # the session's build: proc, out, log, t0, jobs


def start_docs_build(jobs: int, start_jobs: int):
    """docs/build.py (the builder `make docs` runs) into a fresh temporary folder, in the background: every notebook
    executed (cells nbdev-test leaves out not run, pyproject's cell_timeout per cell, `start_jobs` kernels at once
    until the `docs_build` fixture says the rest of the suite is done, then `jobs`), then the site rendered. Its
    output goes to tests/artifacts/docs_build.log as it runs."""
    out = Path(tempfile.mkdtemp(prefix="lsrl-docs-"))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = ARTIFACTS / "docs_build.log"
    env = dict(os.environ, OMP_NUM_THREADS="1")   # one torch thread per kernel
    env.pop("OPENAI_API_KEY", None)               # no notebook reaches a real grader
    with open(log, "w") as f:
        proc = subprocess.Popen([sys.executable, str(ROOT / "docs" / "build.py"), "--site-dir", str(out / "site"),
                                 "--work-dir", str(out / "work"), "--jobs", str(jobs), "--start-jobs", str(start_jobs)],
                                cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=f, stderr=subprocess.STDOUT,
                                start_new_session=True)
    _docs.update(proc=proc, out=out, log=log, t0=time.time())


def docs_jobs(others: bool) -> tuple:
    """(kernels, kernels while the rest of the suite runs) for the docs build: all cores up to 2 (as `make docs`;
    more cores: all but one, up to 4), one fewer while other tests run (they keep a core busy; one more busy process
    would slow them, and they are the longer path)."""
    cores = os.cpu_count() or 1
    jobs = min(2, cores) if cores <= 2 else min(4, cores - 1)
    return jobs, max(1, jobs - 1) if others else jobs


def pytest_collection_finish(session):
    "Start the docs build as soon as the session knows it has tests on it; they run last (see modifyitems)."
    if session.config.option.collectonly or not any(needs_docs(i) for i in session.items): return
    start_docs_build(*docs_jobs(others=any(not needs_docs(i) for i in session.items)))


def all_kernels(proc):
    "Tell the build the rest of the suite is done: from now on it may use all its kernels."
    try: proc.stdin.close()   # (it reads a line or the end of its stdin)
    except OSError: pass


def pytest_sessionfinish(session, exitstatus):
    "A build still running (an interrupted or stopped session) is killed; a successful build's folder removed."
    proc = _docs.get("proc")
    if proc is None: return
    all_kernels(proc)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)   # the builder (its kernels exit when their parent is gone)
        proc.wait()
    if proc.returncode == 0: shutil.rmtree(_docs["out"], ignore_errors=True)


@pytest.fixture(scope="session")
def docs_build() -> DocsBuild:
    """The session's one execution of the notebooks and the site built from them (see `start_docs_build`), waited for.
    `make test` runs no nbdev-test: tests/test_notebooks.py asserts on this run and the docs browser tests load its
    site, so a stale _site/ is never what is tested. It does not fail here: the tests using it say what went wrong."""
    if not _docs: start_docs_build(*docs_jobs(others=False))   # (a session that did not see it coming)
    proc, log = _docs["proc"], _docs["log"]
    all_kernels(proc)   # the tests that need it run last: the others are done
    try: rc = proc.wait(timeout=max(1, DOCS_TIMEOUT - (time.time() - _docs["t0"])))
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)   # the builder (its kernels exit when their parent is gone)
        rc = proc.wait()
        with open(log, "a") as f: print(f"\n(docs build killed: still running after {DOCS_TIMEOUT} s)", file=f)
    out = _docs["out"]
    return DocsBuild(rc, out / "site", out / "work", log.read_text(), time.time() - _docs["t0"])
