"""GRPO trainer: updates in every mode (symbolic grader and the local OpenAI-compatible server), LoRA gradients,
non-finite loss handling, log-prob replay, and kill-and-resume equality with a killed subprocess."""
import json, math, os, signal, subprocess, sys, time
import pytest
from pathlib import Path
import torch
from lsrl.adapters import add_core_lora, trainable_report
from lsrl.models import tiny_model_and_tokenizer
from lsrl.trainer import Trainer, TrainConfig

TINY = dict(model="tiny-random", num_steps=2, group_size=2, prompts_per_update=2, micro_batches=1, max_new_tokens=6,
            train_size=8, grader="symbolic", lr=1e-3, seed=3)
TIMING = ("peak_memory_mb",)  # and every time_* key


def test_lora_count_and_int_depth_gives_no_core_gradient():
    model, _ = tiny_model_and_tokenizer()
    pm = add_core_lora(model)
    E, M = 64, 128   # embedding width, MLP width
    assert trainable_report(pm)["trainable_params"] == 4 * 8 * ((E + 3 * E) + (E + E) + (E + 2 * M) + (M + E))
    for p in pm.parameters():
        if p.requires_grad: torch.nn.init.normal_(p, std=0.02)  # LoRA B starts at zero; make every factor live
    ids = torch.randint(0, 200, (1, 6))
    # an int depth runs the core under no_grad: with only core LoRA trainable, nothing in the output needs a gradient
    assert not pm(input_ids=ids, num_steps=3).logits.requires_grad
    pm(input_ids=ids, num_steps=(1, 2)).logits.sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in pm.parameters() if p.requires_grad)


def test_rollout_logprobs_replay_with_the_state_table(tmp_path):
    tr = Trainer(TrainConfig(**TINY, updates=0), tmp_path)
    ro = tr.mode.rollout(tr.problems[0], update=0)
    replay = tr.mode.logps(ro, grad=False)
    assert torch.allclose(replay[ro.mask], ro.logprobs[ro.mask].float(), atol=1e-4)


def test_nonfinite_loss_skips_the_update(tmp_path, monkeypatch):
    import lsrl.trainer as T
    tr = Trainer(TrainConfig(**TINY, updates=1, mode="lsrl"), tmp_path)
    before = [p.detach().clone() for p in tr.params]
    def nan_loss(*a, **k):
        return torch.tensor(float("nan"), requires_grad=True), dict(kl=0.0, clip_low=0.0, clip_high=0.0)
    monkeypatch.setattr(T, "policy_loss", nan_loss)
    m = tr.train()[0]
    assert m["skipped_nonfinite"] == 1 and all(torch.equal(a, b) for a, b in zip(before, tr.params))


def test_lsrl_update_with_the_local_grader_server(tmp_path):
    from fake_openai import FakeOpenAI
    from lsrl.grader import NanoGrader
    with FakeOpenAI(fault_rate=0.2, seed=1) as server:
        grader = NanoGrader(api_key="sk-test", base_url=server.base_url, backoff_base=0.001, timeout=5, max_retries=6)
        tr = Trainer(TrainConfig(**{**TINY, "grader": "nano"}, updates=1, mode="lsrl"), tmp_path, grader=grader)
        m = tr.train()[0]
    assert m["grader_calls"] >= 6 and "iqs_d1" in m and "ps_d2" in m and m["skipped_nonfinite"] == 0
    first = json.loads((tmp_path / "samples.jsonl").read_text().splitlines()[0])
    assert first["samples"][0]["snapshots"][0]["depth"] == 1


def test_killed_run_resumes_exactly(tmp_path):
    cfg = TrainConfig(**TINY, updates=4, mode="lsrl")
    cfg.save(tmp_path / "cfg.toml")
    full = Trainer(cfg, tmp_path / "full")
    ref = full.train()
    run = tmp_path / "killed"
    exe = Path(sys.executable).parent / "lsrl"
    env = dict(os.environ, OMP_NUM_THREADS=str(torch.get_num_threads()))  # same thread count, same float sums as here
    proc = subprocess.Popen([str(exe), "train", "--config", str(tmp_path / "cfg.toml"), "--run-dir", str(run)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.time() + 240
    while not (run / "ckpt-000002").exists() and proc.poll() is None and time.time() < deadline: time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (run / "ckpt-000002").exists()  # killed at or after update 2 (possibly mid-way through update 3)
    resumed = Trainer(cfg, run)
    hist = resumed.train()
    assert resumed.update == 4 and len(hist) == 4
    strip = lambda h: [{k: v for k, v in m.items() if k not in TIMING and not k.startswith("time_")} for m in h]
    assert strip(hist) == strip(ref)
    for a, b in zip(full.params, resumed.params): assert torch.equal(a, b)
    assert resumed.kl.beta == full.kl.beta


def _strip(h): return [{k: v for k, v in m.items() if k not in TIMING and not k.startswith("time_")} for m in h]


@pytest.mark.parametrize("model", ["tiny-qwen2", "tiny-random"])
def test_hrpo_short_run_logs_hidden_ratios_and_trains_the_gate(tmp_path, model):
    cfg = TrainConfig(**{**TINY, "model": model, "lr": None, "max_new_tokens": 8}, mode="hrpo", updates=2,
                      lr_schedule="constant")
    tr = Trainer(cfg, tmp_path)
    assert [(g["name"], g["lr"], g["weight_decay"]) for g in tr.opt.param_groups] == [
        ("lora", 5e-6, 0.1), ("gate_weights", 1e-4, 0.1), ("gate_biases", 1e-4, 0.0), ("Lambda", 1e-3, 0.0)]
    lam = tr.gate.Lambda.detach().clone()
    tr.train()
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 2
    for m in rows:
        for k in ("hidden_ratio_hrpo", "hidden_ratio_think", "gate_a_think", "gate_i_think", "loss", "kl", "grad_norm"):
            assert m[k] is not None and math.isfinite(m[k]), (k, m[k])
        assert 0 < m["hidden_ratio_think"] < m["hidden_ratio_hrpo"] < 1 and m["skipped_nonfinite"] == 0 and m["kl"] > 0
    assert not torch.equal(lam, tr.gate.Lambda)                     # the gradient reached Lambda through the replay
    assert tr.gate.Lambda.dtype == torch.float32
    assert (tmp_path / "ckpt-000002" / "gate.safetensors").exists()


def test_hrpo_replay_reproduces_the_rollout_on_huginn(tmp_path):
    tr = Trainer(TrainConfig(**{**TINY, "max_new_tokens": 8}, mode="hrpo", updates=0), tmp_path)
    ro = tr.mode.rollout(tr.problems[0], update=0)
    assert ro.hybrid.thinking_mask.any()
    lp = tr.mode.logps(ro, grad=False)
    assert torch.allclose(lp[ro.mask], ro.logprobs[ro.mask].float(), atol=1e-4)
    with tr.model.disable_adapter():  # the token-only reference differs: the policy saw mixed inputs
        ref = tr.mode.logps(ro, grad=False, reference=True)
    assert not torch.allclose(ref[ro.mask], lp[ro.mask], atol=1e-6)


def test_hrpo_resume_equals_uninterrupted(tmp_path):
    cfg = TrainConfig(**{**TINY, "lr": None}, mode="hrpo", updates=2)
    full = Trainer(cfg, tmp_path / "full")
    ref = full.train()
    Trainer(cfg.replace(updates=1), tmp_path / "split").train()
    second = Trainer(cfg, tmp_path / "split")
    hist = second.train()
    assert _strip(hist) == _strip(ref)
    for a, b in zip(full.params, second.params): assert torch.equal(a, b)
    assert second.sched.last_epoch == full.sched.last_epoch == 2


def test_num_iterations_takes_several_steps_on_one_generation_batch(tmp_path):
    tr = Trainer(TrainConfig(**TINY, mode="lsrl", num_iterations=3, updates=1), tmp_path)
    ro = tr.mode.rollout(tr.problems[0], update=0)
    old = tr.mode.logps(ro, grad=False)      # what the update stores as old log-probs
    assert torch.allclose(old[ro.mask], ro.logprobs[ro.mask].float(), atol=1e-4)
    m = tr.train()[0]
    assert m["optimizer_steps"] == 3 and tr.sched.last_epoch == 3


def test_grading_overlaps_the_next_rollout(tmp_path):
    import threading
    from lsrl.grader import SymbolicGrader
    second_started = threading.Event()
    class WaitingGrader(SymbolicGrader):
        calls = 0
        def grade_all(self, reqs):
            WaitingGrader.calls += 1
            if WaitingGrader.calls == 1:  # the first micro-batch's grading finishes only once the second rollout began
                assert second_started.wait(60), "grading blocked the next micro-batch's rollout"
            return super().grade_all(reqs)
    tr = Trainer(TrainConfig(**{**TINY, "prompts_per_update": 2, "micro_batches": 2}, mode="outcome", updates=1),
                 tmp_path, grader=WaitingGrader())
    seen = []
    orig = tr.mode.rollouts
    def rollouts(problems, u):   # one call per micro-batch
        seen.append([p.id for p in problems])
        if len(seen) == 2: second_started.set()
        return orig(problems, u)
    tr.mode.rollouts = rollouts
    assert tr.train()[0]["skipped_nonfinite"] == 0 and WaitingGrader.calls == 2
    assert [len(ids) for ids in seen] == [1, 1]


@pytest.mark.parametrize("loss_type,scale", [("dapo", "batch"), ("bnpo", "group"), ("grpo", "none")])
def test_other_loss_types_and_scalings_update(tmp_path, loss_type, scale):
    cfg = TrainConfig(**TINY, mode="lsrl", loss_type=loss_type, scale_rewards=scale, updates=1)
    m = Trainer(cfg, tmp_path).train()[0]
    assert m["skipped_nonfinite"] == 0 and math.isfinite(m["loss"]) and m["grad_norm"] > 0


def test_mode_defaults_are_recorded_and_follow_the_mode_set_on_the_command_line(tmp_path):
    from lsrl.cli import build_parser, train_config
    (tmp_path / "c.toml").write_text("num_steps = 2\n")
    cfg = train_config(build_parser().parse_args(["train", "--config", str(tmp_path / "c.toml"), "--set", "mode=hrpo"]))
    assert (cfg.lr, cfg.beta, cfg.loss_type, cfg.scale_rewards, cfg.adaptive_kl) == \
        (5e-6, 0.005, "grpo", "group", False)
    cfg.save(tmp_path / "saved.toml")
    text = (tmp_path / "saved.toml").read_text()
    assert "loss_type = \"grpo\"" in text and "beta = 0.005" in text and "scale_rewards = \"group\"" in text
    with pytest.raises(Exception, match="can only train Huginn"): TrainConfig(mode="lsrl", model="tiny-qwen2")


@pytest.mark.cuda
def test_int8_lora_update_on_cuda(tmp_path):
    if not torch.cuda.is_available(): pytest.skip("needs CUDA")
    pytest.importorskip("bitsandbytes")
    import bitsandbytes as bnb
    tr = Trainer(TrainConfig(**TINY, mode="lsrl", quantize="int8", device="cuda", updates=1), tmp_path)
    assert any(isinstance(m, bnb.nn.Linear8bitLt) for m in tr.model.modules())
    m = tr.train()[0]
    assert m["skipped_nonfinite"] == 0 and m["peak_memory_mb"] > 0
    assert all(m[f"peak_mb_{p}"] > 0 for p in ("collect", "advantages", "reference", "optimise", "log"))


def test_stop_requested_ends_after_the_update_with_a_checkpoint_and_resumes(tmp_path):
    cfg = TrainConfig(**TINY, mode="outcome", updates=3, checkpoint_every=10)
    def stop_after_first(tr, m): tr.stop_requested = True
    tr = Trainer(cfg, tmp_path, callbacks=[stop_after_first])
    assert len(tr.train()) == 1 and (tmp_path / "ckpt-000001").exists()
    again = Trainer(cfg, tmp_path)
    assert len(again.train()) == 3 and again.update == 3


def test_default_config_trains_one_update_on_the_default_model(tmp_path, monkeypatch, caplog):
    # the default model (the tiny Huginn, 256 positions) cannot hold a prompt + the LSRL recipe's 256 new tokens
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    cfg = TrainConfig(updates=1, prompts_per_update=2, group_size=2, micro_batches=1)
    with caplog.at_level("WARNING", logger="lsrl.trainer"):
        tr = Trainer(cfg, tmp_path)
        m = tr.train()[0]
    ctx = tr.model.get_base_model().config.block_size
    longest = max(len(tr.prompt_format.encode(p, tr.tokenizer)) for p in tr.problems)
    assert (cfg.mode, cfg.model, cfg.max_new_tokens) == ("lsrl", "tiny", 256) and longest + 256 > ctx
    assert tr.cfg.max_new_tokens == ctx - longest == TrainConfig.load(tmp_path / "config.toml").max_new_tokens
    capped = [r.getMessage() for r in caplog.records if "capped" in r.getMessage()]
    assert capped == [f"max_new_tokens=256 capped to {ctx - longest}: the longest prompt ({longest} tokens) and its "
                      f"new tokens must fit the model's {ctx} positions"]
    assert m["skipped_nonfinite"] == 0 and 0 < m["completion_len"] <= ctx - longest and "iqs_d8" in m
    assert (tmp_path / "ckpt-000001" / "adapter" / "adapter_model.safetensors").exists()


def test_hrpo_default_budget_is_capped_on_a_causal_lm(tmp_path):
    cfg = TrainConfig(mode="hrpo", model="tiny-causal", updates=1, prompts_per_update=2, group_size=2,
                      micro_batches=1, train_size=8)
    tr = Trainer(cfg, tmp_path)
    m = tr.train()[0]
    ctx = tr.model.get_base_model().config.max_position_embeddings
    longest = max(len(tr.prompt_format.encode(p, tr.tokenizer)) for p in tr.problems)
    assert cfg.max_new_tokens == 1024 and tr.cfg.max_new_tokens == ctx - longest
    assert m["skipped_nonfinite"] == 0 and math.isfinite(m["hidden_ratio_hrpo"])


def _spread_rewards(tr):
    "Every group's rewards 1, 0, 1, ... (whatever the tiny model wrote), so each update has a gradient to compare."
    score = tr.mode.score
    def scored(rollouts):
        score(rollouts)
        for ro in rollouts: ro.rewards = torch.tensor([float(g % 2 == 0) for g in range(len(ro.rewards))],
                                                      dtype=torch.float64)
    tr.mode.score = scored
    return tr


@pytest.mark.parametrize("mode,model", [("outcome", "tiny-random"), ("lsrl", "tiny-random"), ("hrpo", "tiny-random"),
                                        ("outcome", "tiny-causal")])
def test_memory_settings_change_memory_not_the_update(tmp_path, mode, model):
    """Rollouts one group per call, checkpointed core steps (or layers), the backward one trajectory at a time and the
    head in blocks of 2 positions."""
    cfg = TrainConfig(**{**TINY, "model": model, "lr": None if mode == "hrpo" else 1e-3}, mode=mode, updates=2)
    lean_cfg = cfg.replace(activation_checkpointing=True, backward_rows=1, logit_chunk=2,
                           rollout_rows=2)
    plain, lean = (_spread_rewards(Trainer(c, tmp_path / n)) for c, n in ((cfg, "plain"), (lean_cfg, "lean")))
    assert lean.model.get_base_model().is_activation_checkpointing
    assert not plain.model.get_base_model().is_activation_checkpointing
    a, b = plain.train(), lean.train()
    for ma, mb in zip(a, b):
        assert ma["completion_len"] == mb["completion_len"] and ma["reward_mean"] == mb["reward_mean"]
        for k in ("loss", "kl", "grad_norm", "clip_low"):
            assert math.isclose(ma[k], mb[k], rel_tol=1e-4, abs_tol=1e-7), (k, ma[k], mb[k])
        assert ma["grad_norm"] > 0


def test_memory_gb_fits_the_update_and_trains_the_same(tmp_path):
    from lsrl.memory import lsrl_update_memory
    import tomllib
    cfg = TrainConfig(**TINY, mode="lsrl", updates=2)
    plain = _spread_rewards(Trainer(cfg, tmp_path / "plain"))
    need = lsrl_update_memory(**plain.update_memory())
    fixed = need["weights"] + need["lora_adam"]
    fitted = _spread_rewards(Trainer(cfg.replace(memory_gb=fixed + 0.5 * (need["peak"] - fixed)), tmp_path / "fit"))
    assert 0 < fitted.cfg.backward_rows < 4
    saved = tomllib.loads((tmp_path / "fit" / "config.toml").read_text())
    assert saved["backward_rows"] == fitted.cfg.backward_rows and saved["rollout_rows"] == fitted.cfg.rollout_rows
    for ma, mb in zip(plain.train(), fitted.train()):
        assert ma["completion_len"] == mb["completion_len"]
        assert math.isclose(ma["grad_norm"], mb["grad_norm"], rel_tol=1e-4) and ma["grad_norm"] > 0
    resumed = Trainer(cfg.replace(memory_gb=1e6, updates=3), tmp_path / "fit")   # fits anyway: keeps what it ran with
    assert (resumed.cfg.backward_rows, resumed.cfg.rollout_rows) == (fitted.cfg.backward_rows, fitted.cfg.rollout_rows)
