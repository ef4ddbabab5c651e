"""HRPO against the authors' code: Lambda stays fp32 through every cast and load, the last sampled token (never fed)
is not thinking, and the authors' ratios are averaged per micro-batch while the token-pooled ones get other names."""
import math
from types import SimpleNamespace

import pytest
import torch
from transformers import Qwen2Config, Qwen2ForCausalLM
from lsrl.huginn import byte_tokenizer
from lsrl.hrpo import HybridGate, HybridRollout, MarkerTracker, hrpo_metrics, hybrid_rollout


def gate_at(u: float, d: int = 8) -> HybridGate:
    "A gate whose every Lambda is logit(u^(1/8)) (sigma(Lambda)^8 = u) and whose r and i are exactly 1."
    g = HybridGate(d, r_min=u, r_max=u, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        for lin in (g.gate_r, g.gate_i):
            lin.weight.zero_()
            lin.bias.fill_(30.0)            # sigmoid(30) == 1 in fp32 (and 30 is exact in bf16)
    return g


# ---------------------------------------------------------------------------------------------------------------------
# 1. Lambda keeps fp32


@pytest.mark.parametrize("cast", [lambda g: g.to(torch.bfloat16), lambda g: g.bfloat16(), lambda g: g.half(),
                                  lambda g: g.to("cpu", torch.bfloat16), lambda g: g.double()],
                         ids=["to_bf16", "bfloat16", "half", "to_cpu_bf16", "double"])
def test_casting_the_gate_keeps_lambda_exactly(cast):
    g = gate_at(0.999)
    lam, param = g.Lambda.detach().clone(), g.Lambda
    assert lam[0].item() == pytest.approx(8.9866, abs=1e-4)
    cast(g)
    assert g.Lambda is param                                    # the optimizer's Parameter object
    assert g.Lambda.dtype == torch.float32 and torch.equal(g.Lambda.detach(), lam), g.Lambda
    assert g.gate_r.weight.dtype != torch.float32               # the other weights follow the requested dtype


def test_lambda_gradient_keeps_fp32_and_the_optimizer_still_steps():
    g = gate_at(0.99)
    opt = torch.optim.AdamW(g.parameters(), lr=1e-3)
    e = torch.randn(2, 8)
    g(e, torch.randn(2, 8))[0].sum().backward()
    g.to(torch.bfloat16)
    assert g.Lambda.grad.dtype == torch.float32
    before = g.Lambda.detach().clone()
    opt.step()
    assert not torch.equal(before, g.Lambda.detach()) and g.Lambda.dtype == torch.float32


def test_bf16_gate_matches_fp32_math_at_r_1():
    g32, g16 = gate_at(0.999), gate_at(0.999).to(torch.bfloat16)
    e, h = torch.zeros(1, 8), torch.ones(1, 8)
    _, a32, _ = g32(e, h)
    mixed, a16, _ = g16(e.bfloat16(), h.bfloat16())
    coef = lambda a: torch.sqrt(1 - a * a + 1e-8)
    exact = math.sqrt(1 - 0.999 ** 2)                           # 0.044710; a bf16-rounded Lambda (9.0) gives 0.04441
    assert (coef(a16) - coef(a32)).abs().max().item() <= 1e-6, coef(a16)
    assert (coef(a16) - exact).abs().max().item() <= 1e-5, coef(a16)
    assert mixed.dtype == torch.bfloat16
    # e = 0, i = 1, h = 1: the mixture is the coefficient itself, off only by the bf16 rounding of the output
    assert (mixed.float() - exact).abs().max().item() <= exact * 2 ** -8


def test_load_state_dict_gives_fp32_lambda_even_from_bf16_and_with_assign():
    src = gate_at(0.995)
    sd16 = {k: v.to(torch.bfloat16) for k, v in src.state_dict().items()}
    for assign in (False, True):
        g = HybridGate(8)
        g.load_state_dict(sd16, assign=assign)
        assert g.Lambda.dtype == torch.float32, assign
        assert torch.equal(g.Lambda.detach(), sd16["Lambda"].float())


def tiny_qwen(dtype=torch.bfloat16):
    torch.manual_seed(0)
    cfg = Qwen2Config(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                      num_key_value_heads=1, max_position_embeddings=64)
    return Qwen2ForCausalLM(cfg).to(dtype).eval()


@pytest.mark.parametrize("saved_dtype", [torch.float32, torch.bfloat16])
def test_eval_load_gate_keeps_the_saved_lambda(tmp_path, saved_dtype):
    from peft import LoraConfig, get_peft_model
    from safetensors.torch import save_file
    from lsrl.evaluate import load_gate
    trained = HybridGate(32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad(): trained.Lambda.add_(torch.randn(32, generator=torch.Generator().manual_seed(2)) * 1e-3)
    sd = {k: v.contiguous() for k, v in trained.state_dict().items()}
    sd["Lambda"] = sd["Lambda"].to(saved_dtype)
    save_file(sd, str(tmp_path / "gate.safetensors"))
    model = get_peft_model(tiny_qwen(), LoraConfig(r=2, target_modules=["q_proj"]))
    gate = load_gate(tmp_path / "gate.safetensors", model)
    assert gate.Lambda.dtype == torch.float32
    assert torch.equal(gate.Lambda.detach(), sd["Lambda"].float())              # bit-equal to what was saved
    assert gate.gate_r.weight.dtype == torch.bfloat16                            # the rest follows the model


# ---------------------------------------------------------------------------------------------------------------------
# 2. The last sampled token is never fed, so it is not thinking


def test_rollout_to_max_new_tokens_without_marker_does_not_count_the_last_token():
    tok = byte_tokenizer()
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(Qwen2Config(vocab_size=len(tok), hidden_size=32, intermediate_size=64,
                                         num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
                                         max_position_embeddings=64)).eval()
    gate = HybridGate(32, r_min=0.5, generator=torch.Generator().manual_seed(0))
    prompt = torch.tensor([tok("12+30=", add_special_tokens=False)["input_ids"]] * 3)
    C = 6
    ro = hybrid_rollout(model, gate, prompt, max_new_tokens=C, tracker=MarkerTracker(tok),
                        generator=torch.Generator().manual_seed(0))
    P = ro.prompt_length
    assert ro.completions.shape[1] == C and ro.completion_mask.all()         # every row ran to max_new_tokens
    assert not any("####" in t for t in tok.batch_decode(ro.completions))    # and never wrote the marker
    assert ro.thinking_mask[:, P:-1].all()                                    # every fed token was mixed
    assert not ro.thinking_mask[:, -1].any(), ro.thinking_mask[:, -1]         # the last one was never fed
    assert (ro.a_mean[:, -1] == 1).all() and (ro.i_mean[:, -1] == 0).all() and (ro.b_mean[:, -1] == 0).all()
    with torch.no_grad():                                                     # a over the fed tokens, recomputed
        a_fed = gate.gates(model.get_input_embeddings()(ro.completions[:, :-1]))[0].mean(-1)
    torch.testing.assert_close(ro.a_mean[:, P:-1], a_fed)
    m = hrpo_metrics(ro)
    assert m["hidden_ratio_hrpo"] == pytest.approx(torch.sqrt(1 - a_fed ** 2).mean().item(), rel=1e-6)
    assert m["embeds_ratio_hrpo"] == pytest.approx(a_fed.mean().item(), rel=1e-6)
    assert m["think_frac"] == 1.0


# ---------------------------------------------------------------------------------------------------------------------
# 3. The authors' ratios are per micro-batch means; the token-pooled ones are logged under other names


def hand_rollout(a_rows: list) -> HybridRollout:
    "A rollout with P = 1 whose completion a_mean rows are `a_rows` (1.0 = not mixed)."
    a = torch.tensor([[1.0] + r for r in a_rows])
    B, L = a.shape
    think, ids = a < 1, torch.zeros(B, L, dtype=torch.long)
    return HybridRollout(sequences=ids, attention_mask=ids + 1, latents=torch.zeros(B, L - 1, 2), thinking_mask=think,
                         a_mean=a, i_mean=torch.where(think, 0.5, 0.0),
                         b_mean=torch.where(think, 0.5 * torch.sqrt(1 - a * a), 0.0),
                         completion_mask=torch.ones(B, L - 1, dtype=torch.bool), rollout_logps=torch.zeros(B, L - 1),
                         prompt_length=1, temperature=1.0)


# micro-batch 1: one row, 2 mixed positions; micro-batch 2: two rows, 4 mixed positions
MB1 = [hand_rollout([[0.2, 0.4, 1.0]])]
MB2 = [hand_rollout([[0.9, 0.9, 1.0]]), hand_rollout([[0.8, 0.8, 1.0]])]


def authors(values):
    "One micro-batch's (embeds_ratio, hidden_ratio): the mean of a and of sqrt(1 - a^2) over its mixed positions."
    a = torch.tensor(values)
    return a.mean().item(), torch.sqrt(1 - a * a).mean().item()


def expected():
    (e1, h1), (e2, h2) = authors([0.2, 0.4]), authors([0.9, 0.9, 0.8, 0.8])
    ep, hp = authors([0.2, 0.4, 0.9, 0.9, 0.8, 0.8])
    return dict(embeds_ratio_hrpo=(e1 + e2) / 2, hidden_ratio_hrpo=(h1 + h2) / 2, embeds_ratio_hrpo_pooled=ep,
                hidden_ratio_hrpo_pooled=hp)


def test_the_two_definitions_differ_on_the_example():
    ex = expected()
    assert abs(ex["embeds_ratio_hrpo"] - ex["embeds_ratio_hrpo_pooled"]) > 5e-2
    assert abs(ex["hidden_ratio_hrpo"] - ex["hidden_ratio_hrpo_pooled"]) > 5e-2


def test_window_metrics_average_the_authors_ratios_per_micro_batch():
    from lsrl.hrpo import hrpo_window_metrics
    m = hrpo_window_metrics([MB1, MB2])
    for k, v in expected().items(): assert m[k] == pytest.approx(v, rel=1e-6), k
    # a single micro-batch: hrpo_metrics gives the authors' value of that micro-batch
    assert hrpo_metrics(MB2)["embeds_ratio_hrpo"] == pytest.approx(authors([0.9, 0.9, 0.8, 0.8])[0], rel=1e-6)
    # the corrected ratio stays token-pooled over the window
    assert m["hidden_ratio_think"] == pytest.approx(hrpo_metrics(MB1 + MB2)["hidden_ratio_think"], rel=1e-6)
    # a micro-batch without any mixed position is skipped, not averaged in as 0
    m3 = hrpo_window_metrics([MB1, MB2, [hand_rollout([[1.0, 1.0, 1.0]])]])
    assert m3["embeds_ratio_hrpo"] == pytest.approx(m["embeds_ratio_hrpo"], rel=1e-6)


def test_hrpo_mode_logs_the_authors_ratios_per_micro_batch_and_the_pooled_ones_apart():
    from lsrl.data import Problem
    from lsrl.modes import HRPOMode, Rollout
    wrap = lambda hy: Rollout(Problem("q", "1", "test", "p"), None, None, None, None, None, [], ["x #### 1"], hy)
    batches = [[wrap(hy) for hy in MB1], [wrap(hy) for hy in MB2]]
    m = HRPOMode.metrics(SimpleNamespace(cfg=SimpleNamespace(marker="####")), batches)
    ex = expected()
    assert m["embeds_ratio_hrpo"] == pytest.approx(ex["embeds_ratio_hrpo"], rel=1e-6), m
    assert m["hidden_ratio_hrpo"] == pytest.approx(ex["hidden_ratio_hrpo"], rel=1e-6), m
    assert m["embeds_ratio_hrpo_pooled"] == pytest.approx(ex["embeds_ratio_hrpo_pooled"], rel=1e-6), m
    assert m["hidden_ratio_hrpo_pooled"] == pytest.approx(ex["hidden_ratio_hrpo_pooled"], rel=1e-6), m
    assert m["answer_marker_rate"] == 1.0
