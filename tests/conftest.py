import json, os, signal, subprocess, sys, time
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


def pytest_collection_modifyitems(config, items):
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


@pytest.fixture(scope="session")
def docs_build(tmp_path_factory) -> DocsBuild:
    """docs/build.py (the builder `make docs` runs) into a temporary folder, once per session: every notebook executed
    (cells nbdev-test leaves out not run; 2 kernels, pyproject's cell_timeout), then the site rendered. `make test`
    runs no nbdev-test: tests/test_notebooks.py asserts on this run and the docs browser tests load its site, so a
    stale _site/ is never what is tested. It does not fail here: the tests using it say what went wrong."""
    out = tmp_path_factory.mktemp("docs")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = ARTIFACTS / "docs_build.log"
    env = dict(os.environ, OMP_NUM_THREADS="1")   # one torch thread per kernel: 2 kernels on 2 cores
    env.pop("OPENAI_API_KEY", None)               # no notebook reaches a real grader
    t0 = time.time()
    with open(log, "w") as f:   # written as it runs: `tail -f tests/artifacts/docs_build.log`
        proc = subprocess.Popen([sys.executable, str(ROOT / "docs" / "build.py"), "--site-dir", str(out / "site"),
                                 "--work-dir", str(out / "work")], cwd=ROOT, env=env, stdout=f,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try: rc = proc.wait(timeout=1800)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)   # the builder (its kernels exit when their parent is gone)
            rc = proc.wait()
            print("\n(docs build killed: still running after 1800 s)", file=f)
    return DocsBuild(rc, out / "site", out / "work", log.read_text(), time.time() - t0)
