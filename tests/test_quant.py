"""Quantised base weights (bitsandbytes int8 and nf4) on the CPU: the logits stay close to full precision, and a
training update runs with gradients on the LoRA adapters only while the quantised base stays as it was."""
import copy
import pytest
import torch
from lsrl.adapters import QUANT_KINDS, quantize_base
from lsrl.models import load_tiny
from lsrl.trainer import Trainer, TrainConfig

bnb = pytest.importorskip("bitsandbytes")
SMALL = dict(model="tiny", num_steps=2, group_size=2, prompts_per_update=2, micro_batches=1, max_new_tokens=8,
             train_size=4, grader="symbolic", lr=1e-2, seed=1, updates=1, report_to="none")


@pytest.mark.parametrize("kind", QUANT_KINDS)
def test_logits_of_the_quantised_tiny_model_stay_close(kind):
    model, tok = load_tiny()
    ids = torch.tensor([tok.encode("A shop sells 12 pens a day for 5 days. How many pens does it sell?")])
    with torch.no_grad():
        full = model(ids, num_steps=8).logits
        q = quantize_base(copy.deepcopy(model), kind).to("cpu")
        out = q(ids, num_steps=8).logits
    rel = ((out - full).abs().max() / full.abs().max()).item()
    same = (out.argmax(-1) == full.argmax(-1)).float().mean().item()
    print(f"{kind}: max |logit error| {rel:.3%} of the largest logit; greedy token unchanged at {same:.0%}")
    assert 0 < rel < (0.02 if kind == "int8" else 0.15) and same >= (1.0 if kind == "int8" else 0.8)


@pytest.mark.parametrize("kind", QUANT_KINDS)
def test_an_update_on_quantised_weights_trains_lora_only(tmp_path, kind):
    layer = bnb.nn.Linear8bitLt if kind == "int8" else bnb.nn.Linear4bit
    tr = Trainer(TrainConfig(**SMALL, mode="lsrl", quantize=kind), tmp_path)
    quantised = {n: m.weight.detach().clone() for n, m in tr.model.named_modules() if isinstance(m, layer)}
    assert len(quantised) == 8 * 4 + 1 and all(w.dtype in (torch.int8, torch.uint8) for w in quantised.values())
    assert all("lora_" in n for n, p in tr.model.named_parameters() if p.requires_grad)
    ro = tr.mode.rollout(tr.problems[0], update=0)
    tr.mode.logps(ro, grad=True)[ro.mask].sum().backward()   # the policy's log-probs reach the adapters
    grads = {n: p.grad for n, p in tr.model.named_parameters() if p.grad is not None}
    assert grads and all("lora_" in n for n in grads)
    assert any(g.abs().sum() > 0 for n, g in grads.items() if "lora_B" in n)
    tr.opt.zero_grad(set_to_none=True)
    m = tr.train()[0]
    assert m["skipped_nonfinite"] == 0 and m["optimizer_steps"] == 1
    after = dict(tr.model.named_modules())
    assert all(torch.equal(after[n].weight, w) for n, w in quantised.items())

def test_an_unknown_kind_is_refused_with_the_choices():
    with pytest.raises(Exception, match="int8, nf4"): TrainConfig(**SMALL, quantize="int4")


def test_the_gradient_passes_through_an_nf4_layer_after_a_rollout():
    "An eval forward without gradient (a rollout) must not switch the layer to a kernel that has no backward."
    torch.manual_seed(0)
    lin = torch.nn.Sequential(torch.nn.Linear(64, 32))
    q = quantize_base(copy.deepcopy(lin), "nf4").to("cpu").eval()
    with torch.no_grad(): q(torch.randn(1, 64))                     # the rollout
    dense = torch.nn.Linear(64, 32)
    dense.weight.data = bnb.functional.dequantize_4bit(q[0].weight.data, q[0].weight.quant_state).float()
    dense.bias.data = q[0].bias.data.float()
    x = torch.randn(3, 64, requires_grad=True)
    q.train()
    q(x).pow(2).sum().backward()
    expected = torch.autograd.grad(dense(x).pow(2).sum(), x)[0]
    assert torch.allclose(x.grad, expected, atol=1e-4)


def test_the_older_int8_flag_reads_as_quantize_int8():
    assert TrainConfig(**SMALL, int8=True).quantize == "int8" and TrainConfig(**SMALL).quantize is None
