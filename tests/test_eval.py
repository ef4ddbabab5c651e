"""Evaluation: greedy pass@1 equals per-problem `generate` with the problem's own s_0 rows, FLOPs on the real config,
variant tables from saved adapters (LoRA and HRPO gate), the report files, and `lsrl eval`."""
import json
import pytest
import torch
from lsrl.data import synthetic_problems, PromptFormat
from lsrl.evaluate import Variant, compare_variants, evaluate, flops_per_token, resolve_adapter, save_report
from lsrl.models import seed_for, tiny_model_and_tokenizer
from lsrl.trainer import Trainer, TrainConfig
from lsrl.huginn import HuginnConfig
from lsrl.latents import make_state_table

TINY = dict(model="tiny-random", num_steps=2, group_size=2, prompts_per_update=2, micro_batches=1, max_new_tokens=4,
            train_size=4, grader="symbolic", updates=1, lr=1e-2)


def test_greedy_eval_equals_generate_per_problem():
    model, tok = tiny_model_and_tokenizer()
    probs = synthetic_problems(5, seed=7)
    res = evaluate(model, tok, probs, num_steps=3, max_new_tokens=6, batch_size=5, seed=2)
    for p, rec in zip(probs, res.records):
        ids = torch.tensor([PromptFormat().encode(p, tok)])
        table = make_state_table(model, 1, ids.shape[1] + 6, torch.Generator().manual_seed(seed_for(2, "eval", p.id)))
        g = model.generate(ids, num_steps=3, max_new_tokens=6, state_table=table)
        completion = g.new_tokens[0][g.completion_mask[0].bool()].tolist()
        assert rec["completion"] == tok.decode(completion, skip_special_tokens=True)


def test_flops_per_token_of_the_real_config():
    cfg = HuginnConfig.huginn_0125()
    assert abs(flops_per_token(cfg, 8) / 1e9 - 30.05) < 0.1
    assert abs(flops_per_token(cfg, 32) / flops_per_token(cfg, 8) - 3.61) < 0.01


def test_variant_table_from_lsrl_and_hrpo_checkpoints(tmp_path):
    Trainer(TrainConfig(**TINY, mode="lsrl"), tmp_path / "lsrl").train()
    Trainer(TrainConfig(**TINY, mode="hrpo"), tmp_path / "hrpo").train()
    model, tok = tiny_model_and_tokenizer()
    probs = synthetic_problems(3, seed=9)
    variants = [Variant("base", None, 2), Variant("LSRL", str(tmp_path / "lsrl"), 2),
                Variant("HRPO", str(tmp_path / "hrpo" / "ckpt-000001"), 2), Variant("base-r4", None, 4)]
    rows = compare_variants(model, tok, variants, {"synthetic": probs}, max_new_tokens=5)
    assert [r["model"] for r in rows] == ["base", "LSRL", "HRPO", "base-r4"]
    assert rows[0]["flops_rel_r8"] < rows[3]["flops_rel_r8"]
    assert not hasattr(model, "peft_config")   # adapters were removed again
    paths = save_report(tmp_path / "out", variants=rows)
    assert json.loads(paths["json"].read_text())["variants"][1]["results"]["synthetic"]["n"] == 3


def test_resolve_adapter_errors_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match="no LoRA adapter"): resolve_adapter(tmp_path)


def test_cli_eval_variants_and_missing_math_path(tmp_path, capsys):
    from lsrl.cli import main
    Trainer(TrainConfig(**TINY, mode="outcome"), tmp_path / "run").train()
    assert main(["eval", "--model", "tiny-random", "--limit", "2", "--max-new-tokens", "3",
                 "--out", str(tmp_path / "o"),
                 "--variant", "base=base@2", "--variant", f"tuned={tmp_path / 'run'}@2"]) == 0
    out = capsys.readouterr().out
    assert "| base | 2 |" in out and "| tuned | 2 |" in out
    assert main(["eval", "--data", "math", "--out", str(tmp_path / "o2")]) != 0   # a short error, no traceback
    assert "MATH is never downloaded" in capsys.readouterr().err


def test_cli_eval_defaults_run_on_the_default_model(tmp_path):
    # the tiny Huginn has 256 positions: a prompt + the default 256 new tokens do not fit, so the budget is capped
    from lsrl.cli import main
    assert main(["eval", "--limit", "2", "--out", str(tmp_path)]) == 0
    single = json.loads((tmp_path / "results.json").read_text())["single"][0]
    s = single["settings"]
    assert single["n"] == 2 and s["max_new_tokens_asked"] == 256 and 0 < s["max_new_tokens"] < 256
    html = (tmp_path / "report.html").read_text()
    assert "capped from 256" in html and "(n = 2)" in html


def test_sweep_and_compare_with_default_settings_on_the_default_model():
    from lsrl.evaluate import depth_sweep
    from lsrl.models import load_model_and_tokenizer, named_problems
    model, tok = load_model_and_tokenizer("tiny", "cpu", 0)
    probs = named_problems("tiny", 2, 0)
    ctx = model.config.block_size
    longest = max(len(PromptFormat().encode(p, tok)) for p in probs)
    sweep = depth_sweep(model, tok, probs, depths=(1, 2))    # every other setting at its default (256 new tokens)
    assert [r.settings["max_new_tokens"] for r in sweep] == [ctx - longest] * 2
    rows = compare_variants(model, tok, [Variant("r1", None, 1), Variant("r2", None, 2)], {"tiny": probs})
    assert [r["results"]["tiny"]["n"] for r in rows] == [2, 2]
    assert [r["results"]["tiny"]["accuracy"] for r in rows] == [r.accuracy for r in sweep]   # the same decoding
