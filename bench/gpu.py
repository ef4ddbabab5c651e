"""The GPU check: one script a lent H100/H200 runs in a few minutes; writes bench/results/gpu.json.

On the GPU machine, from the repository root: `bash bench/gpu.sh` (installs the wheels carried in .whl/, then runs
this file). Here, without a GPU: `python bench/gpu.py --smoke` runs every section on a small CPU model in seconds, so
the script is known to work before device time is spent on it.

Sections (each one's failure is recorded in the JSON and does not stop the others):
- `pytest_cuda`: the suite's CUDA tests (`pytest -m cuda`);
- `decode`: a random-weight full-size Huginn-0125 (3.5 B) in bf16 and in int8 (bitsandbytes), greedy decode tokens/s
  at batch 1, 8 and 64, r = 8;
- `lsrl_update`: one LSRL update (G = 8, r = 8, 256 new tokens, LoRA r8 on the core) in bf16 and int8: seconds and
  peak memory per phase (the trainer's `time_<phase>` and `peak_mb_<phase>` metrics) beside lsrl.memory's model of
  it; in bf16 also with the memory settings on (activation checkpointing, backward over 4 trajectories, the head in
  blocks of 32 positions), whose time and memory against the plain update are what they cost and save at full size;
- `fit_outcome_update`: an outcome update of the paper's micro-batch (8 prompts x G 8, ~240 GiB in one pass) under
  `memory_gb=40`: the passes the trainer chose, and its measured peak against the budget and the model;
- `compiled_decode`: the same decode with every block's MLP under `torch.compile(mode="reduce-overhead")` (CUDA graphs)
  against eager.
The random weights make the text meaningless; the timings and memory are those of the real model's shapes."""
import argparse, json, subprocess, sys, tempfile, time, traceback
from functools import partial
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
import torch
from common import RESULTS, machine
from lsrl.adapters import activation_checkpointing

ROOT = Path(__file__).resolve().parents[1]
BUDGET_S = 7 * 60   # the sections still to run are skipped once this much wall time is spent


def full_model(dtype, device, smoke: bool):
    "A random-weight Huginn-0125 (or, with `smoke`, a small one) with the byte tokenizer's special ids."
    from lsrl.huginn import HuginnConfig, HuginnForCausalLM, byte_tokenizer
    from lsrl.models import chat_stop_ids
    tok = byte_tokenizer()
    ids = dict(bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
               stop_token_ids=chat_stop_ids(tok))
    cfg = (HuginnConfig.tiny(n_embd=128, n_heads=4, intermediate_size=256, vocab_size=512, block_size=1024, **ids)
           if smoke else HuginnConfig.huginn_0125(**ids))
    torch.manual_seed(0)
    with torch.device(device): model = HuginnForCausalLM(cfg).to(dtype).eval()
    return model, tok


def quantized(model, device):
    "The model with int8 base weights (bitsandbytes quantises them as they move to `device`)."
    from lsrl.adapters import quantize_base
    return quantize_base(model.cpu(), "int8").to(device)


def sync(device):
    if device.startswith("cuda"): torch.cuda.synchronize()


def decode_rate(model, device, batch: int, new_tokens: int, prompt: int = 32, r: int = 8) -> dict:
    "Greedy tokens/s over `batch` rows (one warm-up run first)."
    ids = torch.randint(300, 400, (batch, prompt), device=device)
    run = lambda n: model.generate(ids, num_steps=r, max_new_tokens=n, stop_tokens=[])
    run(4)
    sync(device)
    t = time.perf_counter()
    out = run(new_tokens)
    sync(device)
    s = time.perf_counter() - t
    n = out.sequences.shape[1] - prompt
    return dict(batch=batch, new_tokens=n, seconds=round(s, 3), tokens_per_s=round(batch * n / s, 1),
                ms_per_token_step=round(1000 * s / n, 2))


def section_decode(models: dict, device, smoke: bool) -> dict:
    new = 8 if smoke else 64
    return {name: [decode_rate(m, device, b, new) for b in (1, 8, 64)] for name, m in models.items()}


def section_compiled(model, device, smoke: bool) -> dict:
    """Eager against every block's MLP compiled (CUDA graphs on a GPU: mode reduce-overhead; the default mode on CPU).
    The MLPs only: the model's forward draws each position's random s_0 (dynamic shapes cannot trace it) and the
    attention takes its cache slot as a Python int (one recompilation per slot); a captured whole decode step needs a
    static cache, which lsrl does not have yet."""
    new = 8 if smoke else 64
    eager = decode_rate(model, device, 8, new)
    mode = "reduce-overhead" if device.startswith("cuda") else "default"
    blocks = [b.mlp for part in ("prelude", "core_block", "coda") for b in getattr(model.transformer, part)]
    for b in blocks: b.forward = torch.compile(b.forward, mode=mode, dynamic=True)
    try:
        t = time.perf_counter()
        decode_rate(model, device, 8, new)   # compiles (first call) and warms the graphs
        compile_s = time.perf_counter() - t
        compiled = decode_rate(model, device, 8, new)
    finally:
        for b in blocks: del b.forward   # back to the class's eager forward
    return dict(mode=mode, compiled="every block's MLP", eager=eager, compiled_rate=compiled,
                compile_seconds=round(compile_s, 1), speedup=round(compiled["tokens_per_s"] / eager["tokens_per_s"], 2))


def section_update(model, tok, device, smoke: bool, **settings) -> dict:
    """One LSRL update through the real Trainer (with `settings`, e.g. the memory settings): its per-phase seconds and
    peak memory, and lsrl.memory's model of the same update (GiB per phase) to set beside the measured peaks."""
    from lsrl.memory import lsrl_update_memory
    from lsrl.trainer import Trainer, TrainConfig
    cfg = TrainConfig(mode="lsrl", num_steps=8, group_size=8, prompts_per_update=1, micro_batches=1, updates=1,
                      max_new_tokens=16 if smoke else 256, lora_r=8, lora_alpha=16, lora_targets="core",
                      grader="symbolic", data="synthetic", train_size=8, device=device, report_to="none", seed=0,
                      **settings)
    with tempfile.TemporaryDirectory() as d:
        tr = Trainer(cfg, d, model, tok)
        m = tr.train()[-1]
        modelled = lsrl_update_memory(**tr.update_memory())
        if tr.cfg.activation_checkpointing: activation_checkpointing(tr.model, False)   # the model is shared:
        tr.model.unload()                                                               # as it was, without LoRA
    keep = lambda k: k.startswith(("time_", "peak_mb_")) or k in ("completion_len", "trainable_params")
    out = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in m.items() if keep(k)}
    return out | dict(settings=settings, model_gib={k: round(v, 2) for k, v in modelled.items()})


def section_fit(model, tok, device, smoke: bool) -> dict:
    """An outcome update of the paper's micro-batch (8 prompts x G 8, 256 new tokens), which needs ~240 GiB in one pass,
    under `memory_gb` = 40: the passes the trainer chose by itself, and its measured peak per phase against that
    budget and the model."""
    from lsrl.memory import lsrl_update_memory
    from lsrl.trainer import Trainer, TrainConfig, memory_setting
    cfg = TrainConfig(mode="outcome", num_steps=8, group_size=8, prompts_per_update=8, micro_batches=1, updates=1,
                      max_new_tokens=16 if smoke else 256, lora_r=8, lora_alpha=16, lora_targets="core",
                      grader="symbolic", data="synthetic", train_size=8, device=device, report_to="none", seed=0)
    budget = 40.0
    if smoke:   # the small model: a budget between its weights and its one-pass peak, so that a fit is needed
        need = lsrl_update_memory(**memory_setting(cfg, model.config, 48, 4))
        budget = need["weights"] + need["lora_adam"] + 0.3 * (need["peak"] - need["weights"] - need["lora_adam"])
    with tempfile.TemporaryDirectory() as d:
        tr = Trainer(cfg.replace(memory_gb=budget), d, model, tok)
        chosen = {k: getattr(tr.cfg, k) for k in ("rollout_rows", "backward_rows", "activation_checkpointing")}
        m = tr.train()[-1]
        modelled = lsrl_update_memory(**tr.update_memory())
        if tr.cfg.activation_checkpointing: activation_checkpointing(tr.model, False)
        tr.model.unload()
    peaks = {k: round(v, 1) for k, v in m.items() if k.startswith("peak_mb_")}
    return dict(budget_gib=round(budget, 3), chosen=chosen, model_peak_gib=round(modelled["peak"], 3),
                measured_peak_gib=round(max(peaks.values(), default=0.0) / 1024, 3), peaks_mb=peaks,
                time_total=round(m["time_total"], 2))


def section_pytest() -> dict:
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_*.py")
                   if "mark.cuda" in p.read_text())
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "pytest", "-m", "cuda", "-q", "-p", "no:cacheprovider", *files],
                       cwd=ROOT, capture_output=True, text=True, timeout=240)
    tail = (p.stdout + p.stderr).strip().splitlines()[-15:]
    return dict(returncode=p.returncode, files=files, seconds=round(time.perf_counter() - t, 1), tail=tail)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="a small model on this machine's device (CPU here)")
    ap.add_argument("--out", default=str(RESULTS / "gpu.json"))
    a = ap.parse_args(argv)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if not a.smoke and device == "cpu":
        print("no CUDA device: run this on a GPU machine, or `--smoke` to check the script here", file=sys.stderr)
        return 2
    t0, res = time.time(), dict(device=torch.cuda.get_device_name() if device == "cuda" else "cpu",
                                smoke=a.smoke, sections={})

    def run(name, fn, *args):
        if time.time() - t0 > BUDGET_S:
            res["sections"][name] = dict(ok=False, error=f"skipped: {BUDGET_S} s budget spent")
            return None
        t = time.perf_counter()
        try:
            out = fn(*args)
            res["sections"][name] = dict(ok=True, seconds=round(time.perf_counter() - t, 1),
                                         result=out if isinstance(out, (dict, list)) else None)
        except Exception as e:
            out = None
            res["sections"][name] = dict(ok=False, error=f"{type(e).__name__}: {e}"[:500],
                                         traceback=traceback.format_exc()[-2000:])
        print(f"[{time.time() - t0:6.1f}s] {name}: {'ok' if res['sections'][name]['ok'] else 'FAILED'}", flush=True)
        return out

    if device == "cuda": run("pytest_cuda", section_pytest)
    bf16 = torch.bfloat16 if device == "cuda" else torch.float32
    model, tok = full_model(bf16, device, a.smoke)
    res["params"] = sum(p.numel() for p in model.parameters())
    run("decode_bf16", section_decode, {"bf16": model}, device, a.smoke)
    run("compiled_decode", section_compiled, model, device, a.smoke)
    run("lsrl_update_bf16", section_update, model, tok, device, a.smoke)
    lean = dict(activation_checkpointing=True, logit_chunk=32, backward_rows=4)
    run("lsrl_update_bf16_lean", partial(section_update, **lean), model, tok, device, a.smoke)
    run("fit_outcome_update_bf16", section_fit, model, tok, device, a.smoke)
    del model
    if device == "cuda": torch.cuda.empty_cache()
    q = run("quantize_int8", lambda: quantized(full_model(bf16, device, a.smoke)[0], device))
    if q is not None:
        run("decode_int8", section_decode, {"int8": q}, device, a.smoke)
        run("lsrl_update_int8", section_update, q, tok, device, a.smoke)
    res.update(seconds=round(time.time() - t0, 1), machine=machine())
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=2))
    print(json.dumps({k: v["ok"] for k, v in res["sections"].items()}), "->", a.out)
    return 0 if all(v["ok"] for v in res["sections"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
