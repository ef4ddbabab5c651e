"""Memory per phase of one GRPO update on the CPU, measured at the tensor level, against the memory model.

The trainer's memory probe is `lsrl.memory.TensorMemory`: each phase records `alloc_mb_<phase>`, the MB its tensors
held at their peak above what existed when it began (every operator seen, the backward's included). The size is the
shipped tiny Huginn at the issue's size (8 prompts x G 8 in one micro-batch, r = 8, 48 new tokens, fp32, LoRA r8 on
the core), the second update, with full backprop (b = r) and truncated (b = 2). The model's optimise term is the
activations saved for the backward plus the logits, their fp32 log-softmax and its gradient
(`lsrl.memory.activation_bytes`, evaluated at the teacher-forced batch this update actually ran).

Run: OMP_NUM_THREADS=2 python bench/memory_phases.py  -> bench/results/memory_phases.json"""
import sys, tempfile
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
import lsrl.modes as modes
from common import setup, table, write
from lsrl.memory import TensorMemory, activation_bytes
from lsrl.trainer import Trainer, TrainConfig

SETTINGS = dict(model="tiny", data="tiny", num_steps=8, group_size=8, prompts_per_update=8, micro_batches=1,
                max_new_tokens=48, updates=2, lr=2e-3, seed=0, grader="symbolic", report_to="none")


def measure(mode: str, backprop_depth=None) -> dict:
    "The second update's alloc_mb per phase, and the model's optimise term at the batch it ran."
    shapes, batch = [], modes.completion_batch
    def recording(rollouts):   # the teacher-forced batch of each log-prob pass: (rows, positions), completion width
        out = batch(rollouts)
        shapes.append((tuple(out[0].shape), out[2].shape[1]))
        return out
    modes.completion_batch = recording
    try:
        with tempfile.TemporaryDirectory() as d:
            tr = Trainer(TrainConfig(**SETTINGS, mode=mode, backprop_depth=backprop_depth), d)
            tr.memory_probe = TensorMemory
            m = tr.train()[-1]
    finally: modes.completion_batch = batch
    (rows, positions), width = shapes[-1]
    cfg, b = tr.model.get_base_model().config, backprop_depth or SETTINGS["num_steps"]
    acts = activation_bytes(cfg, rows * positions, b, dtype_bytes=4, lora_r=8)
    logits = rows * width * cfg.vocab_size * (4 + 4 + 4)
    alloc = {k.removeprefix("alloc_mb_"): round(v, 1) for k, v in m.items() if k.startswith("alloc_mb_")}
    return dict(mode=mode, backprop_depth=b, batch=f"{rows} x {positions}", alloc_mb=alloc,
                model_optimise_mb=round((acts + logits) / 2**20, 1), model_activations_mb=round(acts / 2**20, 1),
                model_logits_mb=round(logits / 2**20, 1),
                measured_over_model=round(alloc["optimise"] / ((acts + logits) / 2**20), 2))


if __name__ == "__main__":
    setup(2)
    rows = [measure("outcome"), measure("outcome", 2), measure("lsrl")]
    flat = [r | {f"{k}_mb": v for k, v in r["alloc_mb"].items()} for r in rows]
    print(table(flat, ["mode", "backprop_depth", "batch", "collect_mb", "reference_mb", "optimise_mb",
                       "model_optimise_mb", "measured_over_model"]))
    print(write("memory_phases", dict(config="shipped tiny Huginn, 8 prompts x G 8, r = 8, 48 new tokens, fp32, "
                                             "LoRA r8 on the core, the second update", rows=rows)))
