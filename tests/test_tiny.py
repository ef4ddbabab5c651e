"""The shipped tiny models (Huginn and the causal LM): present in the package, loadable by name, better with depth,
and regenerable by command."""
import json, subprocess, sys
import pytest
import torch
from lsrl.models import load_model_and_tokenizer
from lsrl.trainer import TrainConfig
from lsrl.huginn import HuginnForCausalLM
from lsrl.models import TINY_CAUSAL_DIR, TINY_DIR, load_tiny, tiny_report


@pytest.mark.parametrize("folder", [TINY_DIR, TINY_CAUSAL_DIR])
def test_shipped_checkpoints_are_small_and_complete(folder):
    files = {p.name: p.stat().st_size for p in folder.iterdir()}
    for need in ("model.safetensors", "config.json", "tokenizer.json", "report.json"):
        assert need in files, f"{need} missing from {folder}"
    assert sum(files.values()) < 10 * 2**20
    rep = tiny_report(folder)
    assert 1e6 < rep["parameters"] < 5e6
    # both models share one tokenizer (the recipe builds it deterministically)
    assert (folder / "tokenizer.json").read_text() == (TINY_DIR / "tokenizer.json").read_text()


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


def test_tiny_causal_by_name_is_the_shipped_causal_lm_and_solves_part_of_its_task():
    from transformers import Qwen2ForCausalLM
    from lsrl.evaluate import evaluate
    from lsrl.models import tiny_problems
    m, tok = load_model_and_tokenizer("tiny-causal")
    assert isinstance(m, Qwen2ForCausalLM) and not m.training and m.config.num_hidden_layers == 6
    rep = tiny_report(TINY_CAUSAL_DIR)
    assert rep["config"]["arch"] == "qwen2" and 0.3 < rep["accuracy"] < 1
    # plain greedy decoding of the package copy: part right, part wrong (so HRPO's reward carries signal)
    acc = evaluate(m, tok, tiny_problems(40), max_new_tokens=48, batch_size=20).accuracy
    assert 0.2 < acc < 0.95
    assert TrainConfig(mode="hrpo", model="tiny-causal").data == "tiny"


def test_regenerate_command_writes_a_loadable_checkpoint(tmp_path):
    out = tmp_path / "tiny"
    p = subprocess.run([sys.executable, "-m", "lsrl.tiny", "--out", str(out), "--steps", "2", "--batch-size", "2",
                        "--eval-problems", "2"], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "held-out pass@1" in p.stdout
    rep = json.loads((out / "report.json").read_text())
    assert rep["config"]["steps"] == 2 and len(rep["loss"]) == 2
    assert sorted(map(int, rep["depth_accuracy"])) == [1, 2, 4, 8, 16]
    model, tok = load_tiny(out)
    assert model.config.n_embd == 128
    assert tok.decode(tok("7 + 5 = 12")["input_ids"], skip_special_tokens=True) == "7 + 5 = 12"


def test_regenerate_command_trains_the_causal_lm(tmp_path):
    from transformers import Qwen2ForCausalLM
    out = tmp_path / "causal"
    p = subprocess.run([sys.executable, "-m", "lsrl.tiny", "--arch", "qwen2", "--out", str(out), "--steps", "2",
                        "--batch-size", "2", "--eval-problems", "2"], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    rep = json.loads((out / "report.json").read_text())
    assert rep["config"]["arch"] == "qwen2" and "accuracy" in rep and "depth_accuracy" not in rep
    model, tok = load_tiny(out)
    assert isinstance(model, Qwen2ForCausalLM)
    # a regenerated folder loads the Hugging Face way too: the same ids (Qwen2's own split rule would differ on
    # "\n\n" between words) and the same logits
    from transformers import AutoModelForCausalLM, AutoTokenizer
    texts = ["a\n\nb 12 + 345", tok.apply_chat_template([{"role": "user", "content": "7 x 3?\n\nok"}], tokenize=False)]
    auto = AutoTokenizer.from_pretrained(out)
    assert [auto(t)["input_ids"] for t in texts] == [tok(t)["input_ids"] for t in texts]
    x = torch.tensor([tok(texts[1])["input_ids"]])
    with torch.no_grad(): assert torch.equal(AutoModelForCausalLM.from_pretrained(out)(x).logits, model(x).logits)
