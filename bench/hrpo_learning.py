"""HRPO against plain GRPO (`outcome` mode) at equal settings, on the testbed: the causal twin `tiny-causal` and the
tiny Huginn on `tiny-hard`, three seeds each, scored with the start model on 200 held-out problems (the Huginn at
r = 8 and 32). Every configuration is one `table3` call with `modes=("outcome", "hrpo")`: both modes share one recipe
and differ only in HRPO's gate. Per configuration it records the rows with their 95% intervals, how far the gate
moved (HRPO's hidden ratio, the mean of sqrt(1 - a^2) over the think span, at the first and last update, and how far
Lambda moved between the first and last checkpoint) and the training seconds. About 70 minutes on 2 CPU cores in all;
finished runs in the output folder are reused, and `--reuse` takes each configuration's learning.json as it is
instead of scoring again.

Run: python bench/hrpo_learning.py [OUT=runs/hrpo-vs-grpo] [--reuse]  -> bench/results/hrpo_learning.json"""
import json, sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
from common import write
from lsrl.learning import table3, table_markdown

FAST_GATE = dict(lr_lambda=0.1, lr_gate=1e-3)    # 100x and 10x the recipe's: the gate's only chance to move
CONFIGS = {   # folder name -> (what it tests, table3 arguments)
    "tiny-causal-lr0.0001": ("HRPO recipe, lr 1e-4, 24 updates", dict(model="tiny-causal", recipe="hrpo",
                                                                       updates=24, lr=1e-4)),
    "tiny-causal-lr0.0005": ("HRPO recipe, lr 5e-4, 24 updates", dict(model="tiny-causal", recipe="hrpo",
                                                                       updates=24, lr=5e-4)),
    "tiny-causal-lr0.002": ("HRPO recipe, lr 2e-3, 24 updates", dict(model="tiny-causal", recipe="hrpo",
                                                                      updates=24, lr=2e-3)),
    "tiny-causal-gatefast": ("HRPO recipe, lr 1e-4, fast gate", dict(model="tiny-causal", recipe="hrpo",
                                                                      updates=24, lr=1e-4, **FAST_GATE)),
    "tiny-causal-rec-outcome": ("Table 3 recipe (lr 2e-3, LoRA r8, 32 updates)",
                                dict(model="tiny-causal", recipe="outcome")),
    "tiny-gatefast": ("HRPO recipe, lr 1e-4, 24 updates, fast gate", dict(model="tiny", recipe="hrpo", updates=24,
                                                                          lr=1e-4, depths=(8, 32), **FAST_GATE)),
    "tiny-rec-outcome-gatefast": ("Table 3 recipe (lr 2e-3, LoRA r8 core, 32 updates), fast gate",
                                  dict(model="tiny", recipe="outcome", depths=(8, 32), **FAST_GATE)),
}


def run_stats(folder) -> dict:
    "Training seconds, the last KL and, for HRPO, the hidden ratio at the first and the last update and the drift of Λ."
    hist = [json.loads(line) for line in (Path(folder) / "metrics.jsonl").read_text().splitlines()]
    kl = hist[-1]["kl"]     # NaN when the last update skipped every group (no spread): kept as null
    out = dict(train_s=round(sum(h["time_total"] for h in hist), 1), kl_last=None if kl != kl else round(kl, 4))
    if "hidden_ratio_hrpo" in hist[0]:
        out |= dict(hidden_ratio_first=round(hist[0]["hidden_ratio_hrpo"], 4),
                    hidden_ratio_last=round(hist[-1]["hidden_ratio_hrpo"], 4)) | lambda_drift(folder)
    return out


def lambda_drift(folder) -> dict:
    """How Λ moved between the first and the last checkpoint: the mean |ΔΛ| per dimension and the mean signed ΔΛ. A
    consistent push toward letting latent signal in would make the two equal in size (and negative)."""
    from safetensors.torch import load_file
    ckpts = sorted(Path(folder).glob("ckpt-*"))
    first, last = (load_file(c / "gate.safetensors")["Lambda"].float() for c in (ckpts[0], ckpts[-1]))
    d = last - first
    return dict(lambda_drift_from=ckpts[0].name, lambda_abs_drift=round(d.abs().mean().item(), 4),
                lambda_mean_drift=round(d.mean().item(), 4), lambda_mean=round(first.mean().item(), 3))


def one(out: Path, name: str, reuse: bool) -> dict:
    what, kw = CONFIGS[name]
    kw = dict(kw)
    folder, depths = out / name, kw.pop("depths", (8,))
    result = (json.loads((folder / "learning.json").read_text()) if reuse else
              table3(folder, modes=("outcome", "hrpo"), seeds=(0, 1, 2), heldout=200, depths=depths, jobs=2, **kw))
    print(f"{name}: {what}\n{table_markdown(result)}\n")
    runs = {Path(f).name: run_stats(f) for fs in result["runs"].values() for f in fs}
    keep = {k: result[k] for k in ("task", "n", "seeds", "rows", "pairs")}
    return dict(what=what, settings=kw, train={k: result["train"][k] for k in ("lr", "lora_r", "lora_targets", "beta",
                                                                                "max_grad_norm", "updates")},
                runs=runs, **keep)


def main(out: str = "runs/hrpo-vs-grpo", reuse: bool = False) -> Path:
    configs = {name: one(Path(out), name, reuse) for name in CONFIGS}
    return write("hrpo_learning", json.loads(json.dumps(dict(configs=configs), default=str)))


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--reuse"]
    print(main(*args[:1], reuse="--reuse" in sys.argv))
