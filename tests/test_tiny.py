"The shipped tiny Huginn: present in the package, loadable by name, better with depth, and regenerable by command."
import json, subprocess, sys
from pathlib import Path
import torch
from lsrl.grpo import TrainConfig, load_model_and_tokenizer
from lsrl.huginn import HuginnForCausalLM
from lsrl.tiny import TINY_DIR, load_tiny, tiny_report


def test_shipped_checkpoint_is_small_and_complete():
    files = {p.name: p.stat().st_size for p in TINY_DIR.iterdir()}
    for need in ("model.safetensors", "config.json", "tokenizer.json", "report.json"):
        assert need in files, f"{need} missing from {TINY_DIR}"
    assert sum(files.values()) < 10 * 2**20
    rep = tiny_report()
    assert 1e6 < rep["parameters"] < 5e6


def test_shipped_model_gets_better_with_depth():
    acc = {int(r): a for r, a in tiny_report()["depth_accuracy"].items()}
    assert sorted(acc) == [1, 2, 4, 8, 16]
    # rises, then saturates: more depth never costs more than noise
    assert acc[1] < acc[2] - 0.05 and min(acc[4], acc[8], acc[16]) >= acc[2] - 0.02 and acc[8] > 0.5


def test_tiny_by_name_is_the_shipped_model_and_tiny_random_is_not():
    m, tok = load_model_and_tokenizer("tiny")
    ref, _ = load_tiny()
    assert isinstance(m, HuginnForCausalLM) and not m.training
    assert all(torch.equal(a, b) for a, b in zip(m.state_dict().values(), ref.state_dict().values()))
    r, rtok = load_model_and_tokenizer("tiny-random")
    assert len(rtok) == 262 and r.config.n_embd != m.config.n_embd
    assert TrainConfig().data == "tiny" and TrainConfig(model="tiny-random").data == "synthetic"


def test_regenerate_command_writes_a_loadable_checkpoint(tmp_path):
    out = tmp_path / "tiny"
    p = subprocess.run([sys.executable, "-m", "lsrl.tiny", "--out", str(out), "--steps", "2", "--batch-size", "2", "--eval-problems", "2"],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "held-out pass@1 by depth" in p.stdout
    rep = json.loads((out / "report.json").read_text())
    assert rep["config"]["steps"] == 2 and len(rep["loss"]) == 2 and sorted(map(int, rep["depth_accuracy"])) == [1, 2, 4, 8, 16]
    model, tok = load_tiny(out)
    assert model.config.n_embd == 128 and tok.decode(tok("7 + 5 = 12")["input_ids"], skip_special_tokens=True) == "7 + 5 = 12"
