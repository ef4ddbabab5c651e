"""GRPO trainer: updates in both modes (symbolic grader and the local OpenAI-compatible server), LoRA gradients,
non-finite loss handling, log-prob replay, and kill-and-resume equality with a killed subprocess."""
import json, signal, subprocess, sys, time
from pathlib import Path
import torch
from lsrl.grpo import Trainer, TrainConfig, add_core_lora, tiny_model_and_tokenizer, trainable_report

TINY = dict(model="tiny", num_steps=2, group_size=2, prompts_per_update=2, micro_batches=1, max_new_tokens=6, train_size=8,
            grader="symbolic", lr=1e-3, seed=3)
TIMING = ("time_rollout", "time_grading", "time_update", "time_total", "peak_memory_mb")


def test_lora_count_and_int_depth_gives_no_core_gradient():
    model, _ = tiny_model_and_tokenizer()
    pm = add_core_lora(model)
    E, I = 64, 128
    assert trainable_report(pm)["trainable_params"] == 4 * 8 * ((E + 3 * E) + (E + E) + (E + 2 * I) + (I + E))
    for p in pm.parameters():
        if p.requires_grad: torch.nn.init.normal_(p, std=0.02)  # LoRA B starts at zero; make every factor live
    ids = torch.randint(0, 200, (1, 6))
    # an int depth runs the core under no_grad: with only core LoRA trainable, nothing in the output needs a gradient
    assert not pm(input_ids=ids, num_steps=3).logits.requires_grad
    pm(input_ids=ids, num_steps=(1, 2)).logits.sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in pm.parameters() if p.requires_grad)


def test_rollout_logprobs_replay_with_the_state_table(tmp_path):
    tr = Trainer(TrainConfig(**TINY, updates=0), tmp_path)
    ro = tr.rollout(tr.problems[0], update=0)
    replay = tr.completion_logps(ro, grad=False)
    assert torch.allclose(replay[ro.mask], ro.logprobs[ro.mask].float(), atol=1e-4)


def test_nonfinite_loss_skips_the_update(tmp_path, monkeypatch):
    import lsrl.grpo as G
    tr = Trainer(TrainConfig(**TINY, updates=1, mode="lsrl"), tmp_path)
    before = [p.detach().clone() for p in tr.params]
    monkeypatch.setattr(G, "policy_loss", lambda *a, **k: (torch.tensor(float("nan"), requires_grad=True), dict(kl=0.0, clip_low=0.0, clip_high=0.0)))
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
    assert json.loads((tmp_path / "samples.jsonl").read_text().splitlines()[0])["samples"][0]["snapshots"][0]["depth"] == 1


def test_killed_run_resumes_exactly(tmp_path):
    cfg = TrainConfig(**TINY, updates=4, mode="lsrl")
    cfg.save(tmp_path / "cfg.toml")
    full = Trainer(cfg, tmp_path / "full")
    ref = full.train()
    run = tmp_path / "killed"
    exe = Path(sys.executable).parent / "lsrl"
    proc = subprocess.Popen([str(exe), "train", "--config", str(tmp_path / "cfg.toml"), "--run-dir", str(run)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while not (run / "ckpt-000002").exists() and proc.poll() is None and time.time() < deadline: time.sleep(0.05)
    proc.send_signal(signal.SIGKILL); proc.wait()
    assert (run / "ckpt-000002").exists()  # killed at or after update 2 (possibly mid-way through update 3)
    resumed = Trainer(cfg, run)
    hist = resumed.train()
    assert resumed.update == 4 and len(hist) == 4
    strip = lambda h: [{k: v for k, v in m.items() if k not in TIMING} for m in h]
    assert strip(hist) == strip(ref)
    for a, b in zip(full.params, resumed.params): assert torch.equal(a, b)
    assert resumed.kl.beta == full.kl.beta
