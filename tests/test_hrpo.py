"""HRPO: marker automaton on two tokenizer styles, hybrid rollout (cache vs recompute) on tiny Qwen2/Llama/Huginn with
padding, replay, the token-only reference, gradients, and both hidden ratios on hand-made values."""
import pytest
import torch
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM
from lsrl.huginn import HuginnConfig, HuginnForCausalLM, byte_tokenizer
from lsrl.hrpo import (HuginnHost, HybridGate, HybridRollout, MarkerTracker, hrpo_metrics, hybrid_rollout,
                       reference_logps, replay_logps)

CORPUS = ["so 12 + 30 = 42 #### 42", "step ## one ### two #### 7", "#####", "## ## ## ####", "answer: #### 1,200."] * 30


def bpe_tokenizer():
    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    tk.train_from_iterator(CORPUS, trainers.BpeTrainer(vocab_size=400, special_tokens=["<eos>"],
                                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return PreTrainedTokenizerFast(tokenizer_object=tk, eos_token="<eos>")


def sentencepiece_style_tokenizer():
    tk = Tokenizer(models.BPE(unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.Metaspace()
    tk.decoder = decoders.Metaspace()
    tk.train_from_iterator(CORPUS, trainers.BpeTrainer(vocab_size=200, special_tokens=["<unk>", "<eos>"]))
    return PreTrainedTokenizerFast(tokenizer_object=tk, eos_token="<eos>", unk_token="<unk>")


@pytest.mark.parametrize("make", [bpe_tokenizer, sentencepiece_style_tokenizer, byte_tokenizer])
def test_marker_automaton_equals_naive_redecode(make):
    tok = make()
    if make is not byte_tokenizer:  # merged '#' pieces exist: the hard case
        assert any("##" in tok.decode([v]) for v in range(len(tok)))
    mt = MarkerTracker(tok, seed=1)
    assert mt.exact
    g = torch.Generator().manual_seed(0)
    sharp = [v for v in range(len(tok)) if "#" in tok.decode([v])]
    for _ in range(300):
        n = int(torch.randint(1, 15, (1,), generator=g))
        ids = [sharp[int(torch.randint(len(sharp), (1,), generator=g))] if torch.rand(1, generator=g) < 0.6
               else int(torch.randint(len(tok), (1,), generator=g)) for _ in range(n)]
        st = mt.start(1)
        assert [bool(mt.update(st, torch.tensor([t]))[0]) for t in ids] == mt.naive_answered(ids), ids


def test_window_fallback_when_pieces_do_not_concatenate():
    class Odd:  # a tokenizer whose single-token pieces hide the marker that appears when tokens are decoded together
        all_special_ids = []
        def __len__(self): return 3
        def decode(self, ids, skip_special_tokens=False):
            return "".join({0: "a", 1: "#", 2: "b"}[i] for i in ids).replace("#b", "####")
    mt = MarkerTracker(Odd(), marker="####")
    assert not mt.exact
    st = mt.start(1)
    assert [bool(mt.update(st, torch.tensor([t]))[0]) for t in (0, 1, 2)] == [False, False, True]


def tiny_hf(kind, vocab):
    torch.manual_seed(0)
    common = dict(vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, max_position_embeddings=256)
    model = Qwen2ForCausalLM(Qwen2Config(**common)) if kind == "qwen2" else LlamaForCausalLM(LlamaConfig(**common))
    return model.eval()


def padded_prompts(tok):
    rows = [tok("12+30=", add_special_tokens=False)["input_ids"], tok("7*6=", add_special_tokens=False)["input_ids"]]
    L = max(map(len, rows))
    ids = torch.tensor([[0] * (L - len(r)) + r for r in rows])
    mask = torch.tensor([[0] * (L - len(r)) + [1] * len(r) for r in rows])
    return ids, mask


@pytest.mark.parametrize("kind", ["qwen2", "llama"])
def test_rollout_cache_replay_and_gradients(kind):
    tok = byte_tokenizer()
    model = tiny_hf(kind, len(tok))
    gate = HybridGate(64, r_min=0.3, generator=torch.Generator().manual_seed(0))  # a strong latent share: it matters
    ids, mask = padded_prompts(tok)
    kw = dict(attention_mask=mask, max_new_tokens=10, tracker=MarkerTracker(tok), temperature=0.8, top_k=20,
              stop_tokens=[tok.eos_token_id])
    ro = hybrid_rollout(model, gate, ids, generator=torch.Generator().manual_seed(3), **kw)
    ref = hybrid_rollout(model, gate, ids, generator=torch.Generator().manual_seed(3), use_cache=False, **kw)
    assert torch.equal(ro.sequences, ref.sequences) and torch.allclose(ro.latents, ref.latents, atol=1e-5)
    assert ro.thinking_mask[:, ro.prompt_length:].any() and not ro.latents.requires_grad
    # the gate matters: without it (a = 1 everywhere) the same seed samples differently or gives other log-probs
    lp = replay_logps(model, gate, ro)
    m = ro.completion_mask
    assert torch.allclose(lp[m], ro.rollout_logps[m], atol=1e-4)       # replay reproduces the rollout: ratio 1
    plain = reference_logps(model, ro)
    assert (plain[m] - lp[m]).abs().max() > 1e-4
    model.zero_grad()
    lp[m].sum().backward()
    for p in (gate.gate_r.weight, gate.gate_i.weight, gate.gate_r.bias, gate.Lambda):
        assert p.grad is not None and p.grad.abs().sum() > 0
    assert model.model.layers[0].self_attn.q_proj.weight.grad.abs().sum() > 0  # LoRA sits on these weights


def test_reference_never_calls_the_gate(monkeypatch):
    tok = byte_tokenizer()
    model = tiny_hf("qwen2", len(tok))
    gate = HybridGate(64, generator=torch.Generator().manual_seed(0))
    ids, mask = padded_prompts(tok)
    ro = hybrid_rollout(model, gate, ids, attention_mask=mask, max_new_tokens=6, tracker=MarkerTracker(tok),
                        generator=torch.Generator().manual_seed(0))
    calls = []
    monkeypatch.setattr(HybridGate, "forward", lambda self, e, h: calls.append(1) or (e, None, None))
    reference_logps(model, ro)
    assert calls == []


def test_huginn_host_rollout_and_replay():
    tok = byte_tokenizer()
    torch.manual_seed(0)
    model = HuginnForCausalLM(HuginnConfig.tiny(vocab_size=len(tok), block_size=256)).eval()
    gate = HybridGate(64, r_min=0.3, generator=torch.Generator().manual_seed(0))
    ids, mask = padded_prompts(tok)
    host = lambda: HuginnHost(model, num_steps=3, generator=torch.Generator().manual_seed(5))
    kw = dict(attention_mask=mask, max_new_tokens=8, tracker=MarkerTracker(tok), temperature=0.8, top_k=20)
    ro = hybrid_rollout(model, gate, ids, host=host(), generator=torch.Generator().manual_seed(2), **kw)
    ref = hybrid_rollout(model, gate, ids, host=host(), generator=torch.Generator().manual_seed(2), use_cache=False,
                         **kw)
    assert torch.equal(ro.sequences, ref.sequences) and ro.state_table is not None
    replay_host = HuginnHost(model, num_steps=3, state_table=ro.state_table)
    lp = replay_logps(model, gate, ro, host=replay_host)
    assert torch.allclose(lp[ro.completion_mask], ro.rollout_logps[ro.completion_mask], atol=1e-4)
    with pytest.raises(ValueError, match="HuginnHost"): replay_logps(model, gate, ro)


def test_hidden_ratios_on_hand_made_values():
    # B = 2, P = 1, C = 4. Row 0 stops at completion token 2 (0-based); the authors' code would keep mixing after it.
    P = 1
    a = torch.tensor([[1.0, 0.6, 0.8, 0.5, 0.5], [1.0, 0.6, 1.0, 1.0, 1.0]])
    b = torch.tensor([[0.0, 0.4, 0.3, 0.2, 0.2], [0.0, 0.5, 0.0, 0.0, 0.0]])
    i = torch.tensor([[0.0, 0.5, 0.5, 0.5, 0.5], [0.0, 0.7, 0.0, 0.0, 0.0]])
    think = torch.tensor([[False, True, True, False, False], [False, True, False, False, False]])
    cm = torch.tensor([[True, True, True, False], [True, True, True, True]])
    ro = HybridRollout(sequences=torch.zeros(2, 5, dtype=torch.long), attention_mask=torch.ones(2, 5, dtype=torch.long),
                       latents=torch.zeros(2, 4, 3), thinking_mask=think, a_mean=a, i_mean=i, b_mean=b,
                       completion_mask=cm, rollout_logps=torch.zeros(2, 4), prompt_length=P, temperature=1.0)
    m = hrpo_metrics(ro, ["x #### 1", "no marker"])
    mixed = torch.tensor([0.6, 0.8, 0.5, 0.5, 0.6])  # every a_mean < 1, post-stop padding included (authors' metric)
    assert m["hidden_ratio_hrpo"] == pytest.approx(torch.sqrt(1 - mixed ** 2).mean().item())
    # corrected: real thinking tokens = thinking and fed with a scored successor: (0, j=0), (0, j=1), (1, j=0)
    assert m["hidden_ratio_think"] == pytest.approx((0.4 + 0.3 + 0.5) / 3)
    assert m["gate_a_think"] == pytest.approx((0.6 + 0.8 + 0.6) / 3)
    assert m["gate_i_think"] == pytest.approx((0.5 + 0.5 + 0.7) / 3)
    assert m["think_frac"] == pytest.approx(3 / 5) and m["answer_marker_rate"] == 0.5
    none = hrpo_metrics(HybridRollout(**{**ro.__dict__, "thinking_mask": torch.zeros_like(think)}))
    assert none["hidden_ratio_think"] is None and none["think_frac"] == 0.0
