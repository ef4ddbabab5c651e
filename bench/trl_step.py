"""The peer a user would pick instead: TRL's GRPOTrainer against lsrl's `outcome` mode at equal work, on the shipped
causal LM `tiny-causal` (6-layer Qwen2, 1.4M parameters): 8 prompts x G 8 per update, 48 new tokens, LoRA r32 (alpha
64) on every linear layer, beta 0.04 (TRL's k3 KL to the reference), grpo loss with per-group std scaling, T = 1,
AdamW at 1e-4, the answer-correctness reward, 2 threads. The seconds of each update are timed around the whole step
(generation, rewards, reference and policy passes, backward, optimizer); the first update is warm-up.

TRL generates the 64 completions with Hugging Face `generate` in one call; lsrl with its own KV-cache sampler, one
stream per trajectory. Both stop at the model's end-of-turn tokens, so the completions' mean length (through the stop
token) is reported too. Gradient checkpointing, on by default in TRL, is off: lsrl recomputes nothing either.

Run: OMP_NUM_THREADS=2 python bench/trl_step.py [--updates 6]  -> bench/results/trl_step.json"""
import argparse, logging, os, sys, tempfile, time, warnings
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
import torch
from common import setup, table, write

PROMPTS, G, NEW_TOKENS, LORA_R, BETA, LR = 8, 8, 48, 32, 0.04, 1e-4


def problems(n: int):
    from lsrl.models import tiny_problems
    return tiny_problems(n, "train", seed=0)


def correct(text: str, gold: str) -> float:
    from lsrl.answers import check_answer
    return float(bool(check_answer(text, gold).correct))


def trl_updates(updates: int) -> dict:
    "Seconds per update (and mean completion length) of TRL's GRPOTrainer."
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import TrainerCallback
    from trl import GRPOConfig, GRPOTrainer
    from lsrl.data import PromptFormat
    from lsrl.models import load_model_and_tokenizer
    model, tok = load_model_and_tokenizer("tiny-causal")
    fmt = PromptFormat()
    probs = problems(PROMPTS * (updates + 1))
    data = Dataset.from_list([dict(prompt=fmt.render(p), gold=p.gold) for p in probs])

    def reward(prompts, completions, gold, **_):
        return [correct(c, g) for c, g in zip(completions, gold)]

    class Clock(TrainerCallback):
        def __init__(self): self.times, self.t = [], None
        def on_step_begin(self, *a, **k): self.t = time.perf_counter()
        def on_step_end(self, *a, **k): self.times.append(time.perf_counter() - self.t)

    clock = Clock()
    with tempfile.TemporaryDirectory() as d:
        args = GRPOConfig(output_dir=d, per_device_train_batch_size=PROMPTS * G, num_generations=G,
                          max_completion_length=NEW_TOKENS, beta=BETA, loss_type="grpo", scale_rewards="group",
                          temperature=1.0, top_p=1.0, top_k=0, learning_rate=LR, lr_scheduler_type="constant",
                          max_steps=updates + 1, logging_steps=1, save_strategy="no", report_to="none", use_cpu=True,
                          bf16=False, seed=0, disable_tqdm=True, dataloader_num_workers=0,
                          gradient_checkpointing=False)   # lsrl recomputes nothing either
        lora = LoraConfig(r=LORA_R, lora_alpha=2 * LORA_R, target_modules="all-linear", lora_dropout=0.0)
        trainer = GRPOTrainer(model=model, reward_funcs=reward, args=args, train_dataset=data,
                              processing_class=tok, peft_config=lora, callbacks=[clock])
        trainer.train()
        lengths = [h["completions/mean_length"] for h in trainer.state.log_history if "completions/mean_length" in h]
    steps, lengths = clock.times[1:], lengths[1:]     # tokens through the stop token, as lsrl counts them
    return dict(seconds_per_update=sum(steps) / len(steps), updates_timed=len(steps),
                completion_len=sum(lengths) / len(lengths))


def lsrl_updates(updates: int) -> dict:
    "Seconds per update (and per phase, and mean completion length) of lsrl's outcome mode at the same settings."
    from lsrl.trainer import Trainer, TrainConfig
    cfg = TrainConfig(mode="outcome", model="tiny-causal", data="tiny", group_size=G, prompts_per_update=PROMPTS,
                      micro_batches=1, max_new_tokens=NEW_TOKENS, lora_r=LORA_R, lora_alpha=2 * LORA_R,
                      lora_targets="all", beta=BETA, adaptive_kl=False, loss_type="grpo", scale_rewards="group",
                      temperature=1.0, top_p=1.0, top_k=0, lr=LR, lr_schedule="constant", grader="symbolic",
                      report_to="none", updates=updates + 1)
    with tempfile.TemporaryDirectory() as d:
        tr = Trainer(cfg, d, problems=problems(PROMPTS * (updates + 1)))
        rows = [tr.train_step(u)[0] for u in range(updates + 1)][1:]
    mean = lambda k: sum(r[k] for r in rows) / len(rows)
    phases = {p: round(mean(f"time_{p}"), 3) for p in ("rollout", "grading", "reference", "optimise")}
    return dict(seconds_per_update=mean("time_total"), updates_timed=len(rows), completion_len=mean("completion_len"),
                phases=phases)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--updates", type=int, default=6, help="timed updates per side (after one warm-up update)")
    n = ap.parse_args().updates
    setup(int(os.environ.get("OMP_NUM_THREADS", 2)))
    logging.disable(logging.WARNING)
    warnings.filterwarnings("ignore")
    rows = [dict(trainer="trl GRPOTrainer", **trl_updates(n)), dict(trainer="lsrl outcome", **lsrl_updates(n))]
    for r in rows: r["seconds_per_update"] = round(r["seconds_per_update"], 3)
    print(table(rows, ["trainer", "seconds_per_update", "completion_len", "updates_timed"]))
    trl_s, lsrl_s = rows[0]["seconds_per_update"], rows[1]["seconds_per_update"]
    out = write("trl_step", dict(
        config=f"tiny-causal, {PROMPTS} prompts x G {G}, {NEW_TOKENS} new tokens, LoRA r{LORA_R} all linear, "
               f"beta {BETA}, grpo loss, T 1, lr {LR}, {torch.get_num_threads()} threads, mean of {n} updates",
        trl=rows[0], lsrl=rows[1], speedup=round(trl_s / lsrl_s, 2),
        tokens_per_second=dict(trl=round(PROMPTS * G * rows[0]["completion_len"] / trl_s, 1),
                               lsrl=round(PROMPTS * G * rows[1]["completion_len"] / lsrl_s, 1))))
    print(out)
