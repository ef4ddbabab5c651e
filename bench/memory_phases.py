"""Memory per phase of one GRPO update on the CPU, measured at the tensor level, against the memory model.

The trainer's memory probe is `lsrl.memory.TensorMemory`: each phase records `alloc_mb_<phase>`, the MB its tensors
held at their peak above what existed when it began (every operator seen, the backward's included). The size is the
shipped tiny Huginn at the issue's size (8 prompts x G 8 in one micro-batch, r = 8, 48 new tokens, fp32, LoRA r8 on
the core), the second update: full backprop (b = r) and truncated (b = 2), then the three settings that shrink the
optimise phase (activation checkpointing, the backward over 16 trajectories at a time, the head in blocks of 8
positions), alone and together. The model's optimise term is `lsrl.memory.optimise_bytes`, evaluated at the largest
teacher-forced pass the update's backward actually ran.

Run: OMP_NUM_THREADS=2 python bench/memory_phases.py  -> bench/results/memory_phases.json"""
import sys, tempfile
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
import torch
import lsrl.modes as modes
from common import setup, table, write
from lsrl.memory import TensorMemory, optimise_bytes
from lsrl.trainer import Trainer, TrainConfig

SETTINGS = dict(model="tiny", data="tiny", num_steps=8, group_size=8, prompts_per_update=8, micro_batches=1,
                max_new_tokens=48, updates=2, lr=2e-3, seed=0, grader="symbolic", report_to="none")


def measure(mode: str, **overrides) -> dict:
    "The second update's alloc_mb per phase, and the model's optimise term at the largest pass its backward ran."
    passes, batch = [], modes.completion_batch
    def recording(rollouts):   # each log-prob pass: (rows, positions), completion width, with gradient or not
        out = batch(rollouts)
        passes.append((tuple(out[0].shape), out[2].shape[1], torch.is_grad_enabled()))
        return out
    modes.completion_batch = recording
    try:
        with tempfile.TemporaryDirectory() as d:
            tr = Trainer(TrainConfig(**SETTINGS, mode=mode, **overrides), d)
            tr.memory_probe = TensorMemory
            m = tr.train()[-1]
    finally: modes.completion_batch = batch
    last_ref = max(i for i, p in enumerate(passes) if not p[2])
    backward = [p for p in passes[last_ref + 1:] if p[2]]        # the last update's optimise passes
    cfg, c = tr.model.get_base_model().config, tr.cfg
    b = c.backprop_depth or c.num_steps
    model = max(optimise_bytes(cfg, rows, positions, width, b, 4, c.lora_r, c.activation_checkpointing, c.logit_chunk)
                for (rows, positions), width, _ in backward)
    (rows, positions), _, _ = max(backward, key=lambda p: p[0][0] * p[0][1])
    alloc = {k.removeprefix("alloc_mb_"): round(v, 1) for k, v in m.items() if k.startswith("alloc_mb_")}
    setting = ", ".join(f"{k}={v}" for k, v in overrides.items()) or "-"
    return dict(mode=mode, setting=setting, passes=len(backward), largest_pass=f"{rows} x {positions}",
                alloc_mb=alloc, model_optimise_mb=round(model / 2**20, 1),
                measured_over_model=round(alloc["optimise"] / (model / 2**20), 2))


if __name__ == "__main__":
    setup(2)
    lean = dict(activation_checkpointing=True, backward_rows=16, logit_chunk=8)
    rows = [measure("outcome"), measure("outcome", backprop_depth=2), measure("lsrl"),
            measure("outcome", activation_checkpointing=True), measure("outcome", backward_rows=16),
            measure("outcome", logit_chunk=8), measure("outcome", **lean), measure("lsrl", **lean)]
    full = rows[0]["alloc_mb"]["optimise"]
    for r in rows: r["optimise_saved"] = round(full / r["alloc_mb"]["optimise"], 2)
    flat = [r | {f"{k}_mb": v for k, v in r["alloc_mb"].items()} for r in rows]
    print(table(flat, ["mode", "setting", "passes", "largest_pass", "collect_mb", "reference_mb", "optimise_mb",
                       "model_optimise_mb", "measured_over_model", "optimise_saved"]))
    print(write("memory_phases", dict(config="shipped tiny Huginn, 8 prompts x G 8, r = 8, 48 new tokens, fp32, "
                                             "LoRA r8 on the core, the second update", rows=rows)))
