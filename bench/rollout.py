"""Batched rollouts against one problem at a time: the wall time of one micro-batch of 8 prompts x G 8 at r = 8 with 48
new tokens on the shipped tiny Huginn, per mode. Both paths sample the same tokens (one stream per trajectory), so the
ratio is the price of rolling out problem by problem.

Each path is also timed with 1 new token (the prompt's forward, the prefill, plus one sample): the prefill is the same
compute batched or not (every trajectory has its own s_0, so the G rows of a problem share no core step), so the
speedup batching can give is bounded by the decode part; `decode_speedup` is the ratio of the two differences.

Run: OMP_NUM_THREADS=2 python bench/rollout.py  -> bench/results/rollout.json ("speedup": outcome mode's ratio)"""
import sys, tempfile, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
import torch
from common import setup, table, write
from lsrl.models import tiny_problems
from lsrl.trainer import Trainer, TrainConfig

REPEAT = 3
SETTINGS = dict(model="tiny", num_steps=8, group_size=8, prompts_per_update=8, micro_batches=1, max_new_tokens=48,
                grader="symbolic", report_to="none", seed=0)


def measure(mode: str, new_tokens: int = SETTINGS["max_new_tokens"]) -> dict:
    """Seconds of one batched call and of the same problems one at a time (after a warm-up call), and whether the
    two give the same tokens."""
    cfg = TrainConfig(**SETTINGS | dict(max_new_tokens=new_tokens), mode=mode)
    with tempfile.TemporaryDirectory() as d:
        tr = Trainer(cfg, d)
        problems = tiny_problems(8, "train", seed=3)
        with torch.no_grad():
            tr.mode.rollouts(problems[:1], 0)                      # warm-up: first-call allocations
            batched_s, single_s = float("inf"), float("inf")
            for _ in range(REPEAT):   # alternating, best of REPEAT each: this machine's timing noise is +-15%
                t = time.perf_counter()
                batched = tr.mode.rollouts(problems, 0)
                batched_s = min(batched_s, time.perf_counter() - t)
                t = time.perf_counter()
                single = [tr.mode.rollout(p, 0) for p in problems]
                single_s = min(single_s, time.perf_counter() - t)
    same = all(torch.equal(a.completions, b.completions) for a, b in zip(batched, single))
    tokens = int(sum(ro.mask.sum() for ro in batched))
    return dict(mode=mode, batched_s=round(batched_s, 3), per_problem_s=round(single_s, 3),
                speedup=round(single_s / batched_s, 2), same_tokens=same, new_tokens=tokens,
                tokens_per_s_batched=round(tokens / batched_s, 1))


def split(mode: str) -> dict:
    "`measure` at 48 new tokens, with the prefill part (the same call at 1 new token) and the decode part's speedup."
    row, pre = measure(mode), measure(mode, 1)
    dec_b, dec_p = row["batched_s"] - pre["batched_s"], row["per_problem_s"] - pre["per_problem_s"]
    return row | dict(prefill_batched_s=pre["batched_s"], prefill_per_problem_s=pre["per_problem_s"],
                      prefill_share=round(pre["batched_s"] / row["batched_s"], 2),
                      decode_speedup=round(dec_p / dec_b, 2) if dec_b > 0 else None)


if __name__ == "__main__":
    setup(2)
    rows = [split(m) for m in ("outcome", "lsrl", "hrpo")]
    print(table(rows, ["mode", "batched_s", "per_problem_s", "speedup", "same_tokens", "tokens_per_s_batched",
                       "prefill_share", "decode_speedup"]))
    config = ("tiny Huginn, 8 prompts x G 8, r = 8, 48 new tokens, 2 threads, best of 3 alternating calls each after a "
              "warm-up")
    out = write("rollout", dict(config=config,
                                speedup=rows[0]["speedup"], modes=rows))
    print(out)
