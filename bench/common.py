"""Shared helpers for the benchmarks: config, timing, result files."""
import json, os, platform, time
from pathlib import Path

import torch

RESULTS = Path(__file__).parent / "results"


def setup(threads: int = 2):
    torch.set_num_threads(threads)
    torch.manual_seed(0)


def bench_model():
    "The benchmarks' model: a random Huginn of ~28M parameters (n_embd 512, 8 heads, MLP 1376, vocab 4096)."
    from lsrl.huginn import HuginnConfig, HuginnForCausalLM
    cfg = HuginnConfig.tiny(n_embd=512, n_heads=8, intermediate_size=1376, vocab_size=4096, block_size=1024)
    model = HuginnForCausalLM(cfg).eval()
    return model, sum(p.numel() for p in model.parameters())


def timeit(fn, repeat: int = 3, warmup: int = 1) -> float:
    "Best wall time of `repeat` runs after `warmup` runs (seconds)."
    for _ in range(warmup): fn()
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def machine() -> dict:
    return dict(torch=torch.__version__, threads=torch.get_num_threads(),
                cpu=platform.processor() or platform.machine(), cores=os.cpu_count())


def write(name: str, payload: dict) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(dict(payload, machine=machine()), indent=2))
    return path


def table(rows: list[dict], cols: list[str]) -> str:
    "A plain text table."
    w = {c: max(len(c), *(len(_fmt(r[c])) for r in rows)) for c in cols}
    line = lambda vals: "  ".join(v.rjust(w[c]) for c, v in zip(cols, vals))
    return "\n".join([line(cols), line(["-" * w[c] for c in cols])] + [line([_fmt(r[c]) for c in cols]) for r in rows])


def _fmt(v):
    return f"{v:.4g}" if isinstance(v, float) else str(v)
