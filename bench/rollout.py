"""Batched rollouts against one problem at a time: the wall time of one micro-batch of 8 prompts x G 8 at r = 8 with 48
new tokens on the shipped tiny Huginn, per mode. Both paths sample the same tokens (one stream per trajectory), so the
ratio is the price of rolling out problem by problem.

Run: OMP_NUM_THREADS=2 python bench/rollout.py  -> bench/results/rollout.json ("speedup": outcome mode's ratio)"""
import sys, tempfile
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
import torch
from common import setup, table, timeit, write
from lsrl.models import tiny_problems
from lsrl.trainer import Trainer, TrainConfig

SETTINGS = dict(model="tiny", num_steps=8, group_size=8, prompts_per_update=8, micro_batches=1, max_new_tokens=48,
                grader="symbolic", report_to="none", seed=0)


def measure(mode: str, repeat: int = 2) -> dict:
    cfg = TrainConfig(**SETTINGS, mode=mode)
    with tempfile.TemporaryDirectory() as d:
        tr = Trainer(cfg, d)
        problems = tiny_problems(8, "train", seed=3)
        with torch.no_grad():
            batched = timeit(lambda: tr.mode.rollouts(problems, 0), repeat=repeat)
            single = timeit(lambda: [tr.mode.rollout(p, 0) for p in problems], repeat=repeat)
            same = all(torch.equal(a.completions, b.completions)
                       for a, b in zip(tr.mode.rollouts(problems, 0), [tr.mode.rollout(p, 0) for p in problems]))
    return dict(mode=mode, batched_s=round(batched, 3), per_problem_s=round(single, 3),
                speedup=round(single / batched, 2), same_tokens=same)


if __name__ == "__main__":
    setup(2)
    rows = [measure(m) for m in ("outcome", "lsrl", "hrpo")]
    print(table(rows, ["mode", "batched_s", "per_problem_s", "speedup", "same_tokens"]))
    out = write("rollout", dict(config="tiny Huginn, 8 prompts x G 8, r = 8, 48 new tokens, 2 threads, best of 2",
                                speedup=rows[0]["speedup"], modes=rows))
    print(out)
