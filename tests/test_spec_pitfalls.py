"""One test per detail of Huginn that is easy to get wrong. Mutation tests patch one such mistake into the model and
check that the golden fixture's outputs move by the amount the reference implementation showed (so these values
would catch the mistake)."""
import math
import pytest
import torch
import torch.nn.functional as F
import lsrl.huginn as H
from lsrl.huginn import (HuginnCache, HuginnConfig, HuginnForCausalLM, RMSNorm, SandwichBlock, apply_rope, rope_table,
                         CheckpointError, byte_tokenizer, render_chat)
from golden import golden_inputs, golden_model


@pytest.fixture(scope="module")
def gm(): return golden_model()


def delta_at_r1(gm, ref):
    ids, s0 = golden_inputs()
    return (gm(ids, num_steps=1, input_states=s0).logits - ref).abs().max().item()


@pytest.fixture(scope="module")
def ref_r1(gm):
    ids, s0 = golden_inputs()
    return gm(ids, num_steps=1, input_states=s0).logits


# 1
def test_adapter_is_state_first_single_gemm(gm, ref_r1, monkeypatch):
    s, e = torch.randn(1, 3, 64), torch.randn(1, 3, 64)
    W = gm.transformer.adapter.weight
    assert torch.equal(gm.transformer.adapter(torch.cat([s, e], -1)), F.linear(torch.cat([s, e], -1), W))
    orig = HuginnForCausalLM.core_step
    monkeypatch.setattr(HuginnForCausalLM, "core_step", lambda self, s, e, i, ctx: orig(self, e, s, i, ctx))
    assert abs(delta_at_r1(gm, ref_r1) - 0.95) < 0.05


# 2
def test_embedding_scale_and_input_embeds(gm, ref_r1, monkeypatch):
    ids, s0 = golden_inputs()
    assert torch.equal(gm.embed_inputs(ids), gm.transformer.wte(ids) * 8.0)
    via_embeds = gm(input_embeds=gm.transformer.wte(ids), num_steps=1, input_states=s0).logits
    assert torch.equal(via_embeds, ref_r1)  # callers pass unscaled wte vectors; the model scales them
    monkeypatch.setattr(HuginnForCausalLM, "embed_inputs", lambda self, ids=None, emb=None: self.transformer.wte(ids))
    assert abs(delta_at_r1(gm, ref_r1) - 0.013) < 0.004


# 3
def test_initial_state_distribution(tiny):
    e = torch.zeros(8, 512, 64)
    s0 = tiny.init_state(e, generator=torch.Generator().manual_seed(0))
    bound = 3 * math.sqrt(2 / (5 * 64)) * math.sqrt(64)
    assert abs(s0.std().item() - 0.62397) < 0.005 and s0.abs().max().item() <= bound + 1e-6
    assert abs(bound - 1.89737) < 1e-4
    assert abs(tiny.init_state(e, scale=0.5).std().item() - 0.62397 / 2) < 0.005
    assert tiny.init_state(e, scale=0).abs().sum() == 0
    ids = torch.randint(0, 256, (1, 5))
    assert not torch.equal(tiny(ids, num_steps=2).logits, tiny(ids, num_steps=2).logits)  # fresh every call
    g = lambda: torch.Generator().manual_seed(3)
    assert torch.equal(tiny(ids, num_steps=2, generator=g()).logits, tiny(ids, num_steps=2, generator=g()).logits)


# 4
def test_sandwich_norms(gm, ref_r1, monkeypatch):
    blk = gm.transformer.core_block[1]
    x = torch.randn(1, 4, 64)
    y = blk(x, 3, gm.context(4, "cpu")) / blk.norm_4.weight
    assert torch.allclose(y.pow(2).mean(-1), torch.ones(1, 4), atol=1e-4)  # output = RMS-normalised * gain of norm_4

    def pre_norm_only(self, x, slot, ctx):
        x = x + self.attn(self.norm_1(x), slot, ctx)
        return x + self.mlp(self.norm_3(x))
    monkeypatch.setattr(SandwichBlock, "forward", pre_norm_only)
    assert abs(delta_at_r1(gm, ref_r1) - 0.61) < 0.05


# 5
def test_rmsnorm_dtype_order():
    n = RMSNorm(16).bfloat16()
    n.weight.data = torch.linspace(0.3, 3.1, 16).bfloat16()
    x = torch.randn(64, 16).bfloat16()
    xf = x.float()
    normed = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + 1e-6)
    right = normed.bfloat16() * n.weight
    wrong = (normed * n.weight.float()).bfloat16()
    assert torch.equal(n(x), right) and not torch.equal(right, wrong)


# 6
def test_rope_interleaved_pairs_fp32(gm, ref_r1, monkeypatch):
    t = rope_table(96, 4096)
    assert t.shape == (1, 4096, 1, 48, 2) and t.dtype == torch.float32
    assert torch.allclose(t[0, 1, 0, :, 0], torch.cos(50000 ** (-torch.arange(0, 96, 2) / 96)), atol=1e-6)
    x = torch.randn(2, 7, 3, 16)
    z = torch.view_as_complex(x.unflatten(-1, (-1, 2)).contiguous())
    ang = torch.arange(7)[:, None] * 50000 ** (-torch.arange(0, 16, 2) / 16)
    rot = torch.view_as_real(z * torch.polar(torch.ones_like(ang), ang)[None, :, None]).flatten(-2)
    assert torch.allclose(apply_rope(x, rope_table(16, 7)), rot, atol=1e-5)
    assert apply_rope(x.bfloat16(), rope_table(16, 7)).dtype == torch.bfloat16

    def rotate_half(x, freqs):
        cos = torch.cat([freqs[..., 0], freqs[..., 0]], -1)
        sin = torch.cat([freqs[..., 1], freqs[..., 1]], -1)
        x1, x2 = x.float().chunk(2, -1)
        return (x.float() * cos + torch.cat([-x2, x1], -1) * sin).type_as(x)
    monkeypatch.setattr(H, "apply_rope", rotate_half)
    assert abs(delta_at_r1(gm, ref_r1) - 1.1e-3) < 0.4e-3


def manual_attention(attn, x, freqs, bias_before_rope=True, order="qkv"):
    """An independent re-derivation of spec §3.4 (no cache, causal)."""
    B, S, E = x.shape
    Hh, D = attn.H, attn.D
    W = attn.Wqkv.weight
    parts = dict(zip(order, W.split(E, 0)))
    q, k, v = (F.linear(x, parts[c]).view(B, S, Hh, D) for c in "qkv")
    qb, kb = attn.qk_bias[0], attn.qk_bias[1]
    if bias_before_rope: q, k = apply_rope(q + qb, freqs), apply_rope(k + kb, freqs)
    else: q, k = apply_rope(q, freqs) + qb, apply_rope(k, freqs) + kb
    y = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), is_causal=True)
    return attn.proj(y.transpose(1, 2).reshape(B, S, E))


# 7
def test_qk_bias_before_rope_and_not_on_v(gm):
    attn = gm.transformer.core_block[0].attn
    x = torch.randn(1, 8, 64)
    ctx = gm.context(8, "cpu")
    ours = attn(x, 2, ctx)
    assert torch.allclose(ours, manual_attention(attn, x, ctx.freqs), atol=1e-6)
    assert (ours - manual_attention(attn, x, ctx.freqs, bias_before_rope=False)).abs().max() > 1e-4
    assert attn.qk_bias.shape == (2, 1, 4, 16)  # index 0: q, index 1: k; v has none


# 8
def test_split_orders_qkv_and_gate_up(gm, ref_r1, monkeypatch):
    attn = gm.transformer.core_block[0].attn
    x = torch.randn(1, 8, 64)
    ctx = gm.context(8, "cpu")
    assert (attn(x, 2, ctx) - manual_attention(attn, x, ctx.freqs, order="kqv")).abs().max() > 1e-4
    mlp = gm.transformer.core_block[0].mlp
    g, u = mlp.fc.weight.split(128, 0)
    assert torch.allclose(mlp(x), mlp.proj(F.silu(F.linear(x, g)) * F.linear(x, u)), atol=1e-6)
    monkeypatch.setattr(H.GatedMLP, "forward",
                        lambda self, x: self.proj(F.silu(self.fc(x).chunk(2, -1)[1]) * self.fc(x).chunk(2, -1)[0]))
    assert abs(delta_at_r1(gm, ref_r1) - 0.027) < 0.006


# 9
def test_freqs_cis_stays_fp32_and_loads_from_checkpoint(tiny, tmp_path):
    from safetensors.torch import load_file, save_file
    b = HuginnForCausalLM(HuginnConfig.tiny()).to(torch.bfloat16)
    assert b.freqs_cis.dtype == torch.float32 and b.half().freqs_cis.dtype == torch.float32
    tiny.save_pretrained(tmp_path)
    sd = load_file(tmp_path / "model.safetensors")
    sd["freqs_cis"] = sd["freqs_cis"] + 5e-7  # within 1e-6: the checkpoint's own table is used, as is
    save_file(sd, tmp_path / "model.safetensors")
    m = HuginnForCausalLM.from_pretrained(tmp_path, dtype=torch.bfloat16)
    assert torch.equal(m.freqs_cis, sd["freqs_cis"]) and m.freqs_cis.dtype == torch.float32
    sd["freqs_cis"] = sd["freqs_cis"] + 1e-3
    save_file(sd, tmp_path / "model.safetensors")
    with pytest.raises(CheckpointError, match="freqs_cis"): HuginnForCausalLM.from_pretrained(tmp_path)


# 10
def test_head_in_model_dtype_then_float(tiny):
    b = HuginnForCausalLM(HuginnConfig.tiny()).to(torch.bfloat16).eval()
    b.load_state_dict({k: v.to(torch.bfloat16) if v.is_floating_point() and k != "freqs_cis" else v
                       for k, v in tiny.state_dict().items()})
    ids = torch.randint(0, 256, (1, 6))
    out = b(ids, num_steps=2, output_hidden_states=True, generator=torch.Generator().manual_seed(0))
    assert out.logits.dtype == torch.float32
    assert torch.equal(out.logits, b.lm_head(out.hidden_states).float())
    assert not torch.equal(out.logits, F.linear(out.hidden_states.float(), b.lm_head.weight.float()))


# 11
def test_ln_f_applied_twice(gm, ref_r1, monkeypatch):
    ids, s0 = golden_inputs()
    out = gm(ids, num_steps=1, input_states=s0)
    assert torch.equal(out.latent_states, gm.transformer.ln_f(out.states).detach())

    def coda_without_ln_f(self, s, ctx):
        x = s
        for i, blk in enumerate(self.transformer.coda, start=1): x = blk(x, -i, ctx)
        return x
    monkeypatch.setattr(HuginnForCausalLM, "run_coda", coda_without_ln_f)
    assert abs(delta_at_r1(gm, ref_r1) - 0.033) < 0.01


# 12
def test_decode_equals_forward_bit_exact(gm):
    ids, s0 = golden_inputs()
    out = gm(ids, num_steps=3, input_states=s0, return_all_states=True)
    assert torch.equal(gm.predict_from_latents(out.all_states[3]), out.logits)
    assert torch.equal(gm.predict_from_latents(out.all_states[0]), gm(ids, num_steps=0, input_states=s0).logits)
    for k in (1, 2):
        assert torch.equal(gm.predict_from_latents(out.all_states[k]), gm(ids, num_steps=k, input_states=s0).logits)


# 13
def test_cache_slots_and_mixed_depths(tiny):
    ids = torch.randint(0, 256, (1, 6))
    table = tiny.init_state(torch.zeros(1, 10, 64), generator=torch.Generator().manual_seed(0))
    c = HuginnCache()
    tiny(ids, num_steps=4, input_states=table[:, :6], past_key_values=c)
    assert c.slots == [-2, -1] + list(range(2 + 4 * 4)) and c.get_seq_length() == 6
    # shallower than the prompt: fine with `full`; the core reads slots 2..9, complete from the depth-4 prefill, so the
    # new token's state equals an all-depth-2 run (the coda slots still hold depth-4 K/V: the latent cache recomputes
    # those per depth)
    tok = torch.tensor([[5]])
    shallow = tiny(tok, num_steps=2, input_states=table[:, 6:7], past_key_values=c)
    assert c.get_seq_length() == 7  # one advance per forward, not per layer or step
    ref = tiny(torch.cat([ids, tok], 1), num_steps=2, input_states=table[:, :7])
    assert torch.allclose(shallow.states[:, -1], ref.states[:, -1], atol=1e-5)
    assert not torch.allclose(shallow.logits[:, -1], ref.logits[:, -1], atol=1e-3)
    # deeper than earlier positions: holes in slots 10..17 at position 6
    with pytest.raises(RuntimeError, match="latest-m4"):
        tiny(tok, num_steps=4, input_states=table[:, 7:8], past_key_values=c)
    c2 = HuginnCache(lookup="latest-m4")
    tiny(ids, num_steps=4, input_states=table[:, :6], past_key_values=c2)
    tiny(tok, num_steps=2, input_states=table[:, 6:7], past_key_values=c2)
    out = tiny(tok, num_steps=4, input_states=table[:, 7:8], past_key_values=c2)
    assert torch.isfinite(out.logits).all()
    K10, _ = c2.read(10)  # core step 2, layer 0: position 6 borrowed from slot 6 (step 1, same layer)
    assert torch.equal(K10[:, :, 6], c2.k[6][:, :, 6])


# 14
def test_sdpa_patterns_chunked_prefill(tiny):
    ids = torch.randint(0, 256, (1, 9))
    table = tiny.init_state(torch.zeros(1, 9, 64), generator=torch.Generator().manual_seed(0))
    full = tiny(ids, num_steps=3, input_states=table).logits
    c = HuginnCache()
    parts = [tiny(ids[:, a:b], num_steps=3, input_states=table[:, a:b], past_key_values=c).logits
             for a, b in ((0, 4), (4, 7), (7, 8), (8, 9))]  # causal, lower-right chunk, single-token decodes
    assert (torch.cat(parts, 1) - full).abs().max() < 1e-5
    m = H.lower_right_causal(3, 7)
    assert m.tolist()[0] == [True] * 5 + [False] * 2 and m.tolist()[2] == [True] * 7


# 15
def test_eval_and_explicit_num_steps(tiny):
    ids = torch.randint(0, 256, (1, 3))
    out = tiny(ids)
    assert (out.num_steps_no_grad, out.num_steps_with_grad) == (tiny.config.mean_recurrence, 0)
    tiny.train()
    try:
        depths = {sum((o.num_steps_no_grad, o.num_steps_with_grad)) for o in (tiny(ids) for _ in range(12))}
    finally: tiny.eval()
    assert len(depths) > 1
    with pytest.raises(RuntimeError, match="eval"):
        tiny.train()
        tiny.generate(ids, num_steps=2, max_new_tokens=1)
    tiny.eval()


# 16
def test_int_num_steps_gives_no_core_gradient(tiny):
    ids = torch.randint(0, 256, (1, 5))
    s0 = torch.randn(1, 5, 64, requires_grad=True)
    tiny.zero_grad()
    tiny(ids, num_steps=3, input_states=s0).logits.sum().backward()
    t = tiny.transformer
    assert all(p.grad is None for m in (t.core_block, t.adapter, t.prelude) for p in m.parameters())
    assert s0.grad is None and t.coda[0].attn.Wqkv.weight.grad is not None
    tiny.zero_grad()
    tiny(ids, num_steps=(2, 1), input_states=s0).logits.sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in t.core_block.parameters() if p.dim() > 1)
    assert t.adapter.weight.grad.abs().sum() > 0 and t.prelude[1].attn.Wqkv.weight.grad.abs().sum() > 0
    assert s0.grad is None  # s_n (here s_2) is a constant
    tiny.zero_grad()
    tiny(ids, num_steps=(0, 2), input_states=s0).logits.sum().backward()
    assert s0.grad is not None  # full BPTT reaches the initial state
    tiny.zero_grad()


# 17
def test_labels_not_shifted(tiny):
    ids = torch.randint(0, 256, (2, 6))
    labels = torch.randint(0, 256, (2, 6))
    labels[0, :2] = -100
    out = tiny(ids, num_steps=2, labels=labels, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(out.loss, F.cross_entropy(out.logits.view(-1, 256), labels.view(-1), ignore_index=-100))


# 18
def test_duplicate_head_and_tied_save(tiny, tmp_path):
    from safetensors.torch import load_file, save_file
    tiny.save_pretrained(tmp_path)
    sd = load_file(tmp_path / "model.safetensors")
    assert len(sd) == 76 and "lm_head.weight" not in sd and "freqs_cis" in sd
    sd["lm_head.weight"] = sd["transformer.wte.weight"].clone()  # the hub's 77-key layout
    save_file(sd, tmp_path / "model.safetensors")
    m = HuginnForCausalLM.from_pretrained(tmp_path)
    assert m.lm_head.weight is m.transformer.wte.weight
    sd["lm_head.weight"][0, 0] += 1.0
    save_file(sd, tmp_path / "model.safetensors")
    with pytest.raises(CheckpointError, match="lm_head.weight differs"): HuginnForCausalLM.from_pretrained(tmp_path)


# 19
def test_tokenizer_eos_and_huginn_role():
    tok = byte_tokenizer()
    ids = tok("2+2")["input_ids"]
    assert ids[0] == tok.bos_token_id and ids[-1] == tok.eos_token_id  # EOS appended: drop it for prompts
    text = render_chat([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
                       add_generation_prompt=True)
    assert "<|begin_header|>Huginn<|end_header|>\n\nhello<|end_turn|>" in text and "assistant" not in text
    chat_ids = tok(text, add_special_tokens=False)["input_ids"]
    assert chat_ids.count(tok.bos_token_id) == 1 and chat_ids[-1] != tok.eos_token_id


# 20
def test_bf16_tracks_fp32_per_step(gm):
    ids, s0 = golden_inputs()
    f = gm(ids, num_steps=3, input_states=s0, return_all_states=True).all_states
    b = golden_model(torch.bfloat16)
    sb = b(ids, num_steps=3, input_states=s0.bfloat16(), return_all_states=True).all_states
    assert sb.dtype == torch.bfloat16
    rel = [((sb[k].float() - f[k]).norm() / f[k].norm()).item() for k in range(1, 4)]
    assert all(r < 0.03 for r in rel), rel  # close per step; long recurrences amplify differences
