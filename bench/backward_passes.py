"""What the memory settings cost or save in time: an update's reference and backward (`Trainer.reference`,
`Trainer.accumulate`) on the same rollouts, in one pass over the micro-batch and in passes of 32, 16 and 8
trajectories (`backward_rows`), each with and without activation checkpointing, the settings interleaved and
repeated, best of each. The shipped tiny Huginn at the issue's size: 8 prompts x G 8 in one micro-batch, r = 8,
48 new tokens, outcome mode, 2 threads.

Run: OMP_NUM_THREADS=2 python bench/backward_passes.py  -> bench/results/backward_passes.json"""
import sys, tempfile, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
from common import setup, table, write
from lsrl.adapters import activation_checkpointing
from lsrl.trainer import PhaseTimer, Trainer, TrainConfig

SETTINGS = dict(model="tiny", data="tiny", mode="outcome", num_steps=8, group_size=8, prompts_per_update=8,
                micro_batches=1, max_new_tokens=48, updates=1, train_size=16, lr=2e-3, seed=0, grader="symbolic",
                report_to="none")
REPEATS = 3


def main():
    setup(2)
    tr = Trainer(TrainConfig(**SETTINGS), tempfile.mkdtemp())
    rollouts = [ro for batch in tr.collect(0, PhaseTimer()) for ro in batch]
    tr.advantages(rollouts)
    n_tokens, times = float(sum(ro.mask.sum() for ro in rollouts)), {}
    for _ in range(REPEATS):
        for ckpt in (False, True):
            activation_checkpointing(tr.model, ckpt)
            for rows in (0, 32, 16, 8):
                tr.cfg = tr.cfg.replace(backward_rows=rows, activation_checkpointing=ckpt)
                t0 = time.perf_counter()
                tr.reference(rollouts)
                t1 = time.perf_counter()
                tr.model.train()
                tr.opt.zero_grad(set_to_none=True)
                tr.accumulate(rollouts, n_tokens, 1 / len(rollouts))
                t2 = time.perf_counter()
                times.setdefault((rows, ckpt), []).append((t1 - t0, t2 - t1))
    base = min(b for _, b in times[(0, False)])
    rows = [dict(backward_rows=r or "all (64)", activation_checkpointing=c,
                 reference_s=round(min(a for a, _ in v), 3), backward_s=round(min(b for _, b in v), 3),
                 backward_over_one_pass=round(min(b for _, b in v) / base, 2)) for (r, c), v in times.items()]
    print(table(rows, list(rows[0])))
    print(write("backward_passes", dict(config="shipped tiny Huginn, 8 prompts x G 8 in one micro-batch, r = 8, "
                                               f"48 new tokens, outcome, 2 threads, best of {REPEATS} interleaved",
                                        rows=rows)))


if __name__ == "__main__":
    main()
