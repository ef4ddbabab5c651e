"""Time split of one GRPO update, per mode: at the issue's size on the shipped tiny Huginn (8 prompts x G 8, r = 8,
48 new tokens, one micro-batch; with and without `skip_zero_spread`), and on a 26M-parameter random Huginn (2 prompts
in 2 micro-batches, 32 new tokens); plus the true trainable fraction of the LoRA recipes on the real Huginn-0125
config (built on the meta device). Memory per phase (`peak_mb_*`, CUDA's max allocated with resets) is measured on
a GPU only (bench/gpu.py); on CPU the process's resident set says nothing per run, so it is not reported here, and
the memory of an update is modelled and checked against saved-tensor bytes in lsrl.memory (nbs/06d_memory).

Ratios in one run: an LSRL update against an outcome-only update (the price of per-depth snapshots and process
grading), truncated backprop (b = 2) against full BPTT (b = r), HRPO against outcome, and the optimise phase with
activation checkpointing or passes of 16 trajectories against one plain pass (what the memory settings cost in time).
Run: OMP_NUM_THREADS=2 python bench/train_step.py  -> bench/results/train_step.json"""
import sys, tempfile, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
import torch
from common import setup, write
from lsrl.adapters import ALL_BLOCK_LORA_TARGETS, CORE_LORA_TARGETS, add_core_lora, trainable_report
from lsrl.huginn import HuginnConfig, HuginnForCausalLM, byte_tokenizer
from lsrl.models import chat_stop_ids
from lsrl.trainer import Trainer, TrainConfig

SPLIT = ("time_collect", "time_rollout", "time_grading", "time_grading_wait", "time_advantages", "time_reference",
         "time_optimise", "time_log", "time_total")


def small_model(seed=0):
    "~26M parameters: n_embd 512, 8 heads, MLP 1376 (the other benchmarks' width), byte vocabulary."
    tok = byte_tokenizer()
    cfg = HuginnConfig.tiny(n_embd=512, n_heads=8, intermediate_size=1376, vocab_size=len(tok), block_size=1024,
                            bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
                            stop_token_ids=chat_stop_ids(tok))
    torch.manual_seed(seed)
    return HuginnForCausalLM(cfg), tok


def one_update(tiny: bool = False, **kw):
    "The second update's seconds per phase (warm caches, verifier started); its peak memory per phase on a GPU."
    base = dict(num_steps=8, group_size=8, prompts_per_update=2, micro_batches=2, updates=2, max_new_tokens=32,
                train_size=16, grader="symbolic", lr=1e-4, seed=0, report_to="none")
    if tiny: base |= dict(model="tiny", data="tiny", prompts_per_update=8, micro_batches=1, max_new_tokens=48, lr=2e-3)
    base.update(kw)
    with tempfile.TemporaryDirectory() as d:
        tr = Trainer(TrainConfig(**base), d, *(() if tiny else small_model()))
        hist = tr.train()
    m = hist[-1]
    peaks = {k: round(v, 1) for k, v in m.items() if k.startswith("peak_mb_")}
    return {k: round(m[k], 3) for k in SPLIT} | dict(completion_len=m["completion_len"],
                                                      zero_spread_groups=m["zero_spread_groups"],
                                                      trainable_params=m["trainable_params"]) | peaks


def real_fractions():
    out = {}
    recipes = (("core_r8 (paper recipe)", CORE_LORA_TARGETS, 8), ("all_blocks_r8", ALL_BLOCK_LORA_TARGETS, 8),
               ("core_r16", CORE_LORA_TARGETS, 16), ("all_blocks_r32 (HRPO recipe)", ALL_BLOCK_LORA_TARGETS, 32))
    for name, targets, r in recipes:
        with torch.device("meta"):
            m = add_core_lora(HuginnForCausalLM(HuginnConfig.huginn_0125()), r, 2 * r, targets=targets)
        rep = trainable_report(m)
        out[name] = dict(trainable_params=rep["trainable_params"], total_params=rep["total_params"],
                         trainable_percent=round(100 * rep["trainable_fraction"], 4))
    return out


if __name__ == "__main__":
    setup(2)
    t0 = time.time()
    tiny = dict(outcome=one_update(True, mode="outcome"),
                outcome_skip=one_update(True, mode="outcome", skip_zero_spread=True),
                lsrl=one_update(True, mode="lsrl"), lsrl_skip=one_update(True, mode="lsrl", skip_zero_spread=True),
                hrpo=one_update(True, mode="hrpo", lr=None),
                outcome_checkpointing=one_update(True, mode="outcome", activation_checkpointing=True),
                outcome_backward_rows_16=one_update(True, mode="outcome", backward_rows=16))
    runs = dict(outcome=one_update(mode="outcome"), lsrl=one_update(mode="lsrl"),
                lsrl_b2=one_update(mode="lsrl", backprop_depth=2),
                hrpo=one_update(mode="hrpo", max_new_tokens=32, prompts_per_update=2, micro_batches=2, lr=None))
    ratios = dict(checkpointing_over_plain_optimise=tiny["outcome_checkpointing"]["time_optimise"]
                  / tiny["outcome"]["time_optimise"],
                  backward_rows_16_over_plain_optimise=tiny["outcome_backward_rows_16"]["time_optimise"]
                  / tiny["outcome"]["time_optimise"],
                  lsrl_over_outcome_total=runs["lsrl"]["time_total"] / runs["outcome"]["time_total"],
                  lsrl_over_outcome_rollout=runs["lsrl"]["time_rollout"] / runs["outcome"]["time_rollout"],
                  full_bptt_over_b2_update=runs["lsrl"]["time_optimise"] / runs["lsrl_b2"]["time_optimise"],
                  hrpo_over_outcome_total=runs["hrpo"]["time_total"] / runs["outcome"]["time_total"])
    res = dict(tiny_config="shipped tiny Huginn on its task: r=8, G=8, 8 prompts in one micro-batch, 48 new tokens, "
                           "symbolic grader, CPU fp32, 2 threads; the second update",
               tiny=tiny, tiny_target_seconds=5.0,
               config="r=8, G=8, 2 prompts/update in 2 micro-batches, 32 new tokens, symbolic grader, CPU fp32",
               runs=runs, ratios={k: round(v, 2) for k, v in ratios.items()}, real_config_lora=real_fractions(),
               seconds=round(time.time() - t0))
    print(write("train_step", res).read_text())
