"""The one-pass latent cache: collect_latents statistics, and decode_snapshots vs naive per-depth generation."""
import pytest
import torch
from lsrl.huginn import HuginnConfig, HuginnForCausalLM
from lsrl.latents import collect_latents, decode_snapshots, make_state_table, shared_prefix_attention


def test_collect_latents_statistics(tiny):
    ids = torch.randint(0, 256, (2, 9))
    s0 = make_state_table(tiny, 2, 9, torch.Generator().manual_seed(0))
    tr = collect_latents(tiny, ids, 5, input_states=s0, top_k=3)
    ref = tiny(ids, num_steps=5, input_states=s0, return_all_states=True)
    assert torch.equal(tr.states, ref.all_states) and torch.equal(tr.logits[-1], ref.logits)
    k = 3
    exp_rel = (tr.states[k] - tr.states[k - 1]).norm(dim=-1) / tr.states[k].norm(dim=-1)
    assert torch.allclose(tr.rel_step[k], exp_rel)
    p = torch.softmax(tr.logits, -1)
    assert torch.allclose(tr.entropy, -(p * p.log()).sum(-1), atol=1e-5)
    assert torch.allclose(tr.kl_to_final[2], (p[2] * (p[2].log() - p[-1].log())).sum(-1), atol=1e-5)
    assert (tr.kl_to_final[:-1] > 0).all() and torch.equal(tr.top_ids[..., 0], tr.logits.argmax(-1))
    assert (tr.top_probs[..., :-1] >= tr.top_probs[..., 1:]).all()
    last = collect_latents(tiny, ids, 5, input_states=s0, positions="last")
    assert torch.allclose(last.logits[:, :, 0], tr.logits[:, :, -1], atol=1e-5)


@pytest.mark.parametrize("G,r,N", [(1, 8, 6), (4, 4, 5)])
def test_snapshots_equal_naive_generate(tiny, G, r, N):
    prompt = torch.randint(0, 256, (1, 10)).repeat(G, 1)  # G samples of one problem, each with its own state table
    table = make_state_table(tiny, G, 10 + N, torch.Generator().manual_seed(G))
    tiny.core_token_steps = 0
    snap = decode_snapshots(tiny, prompt, r, N, state_table=table)
    assert snap.core_token_steps == G * (r * 10 + r * (r + 1) // 2 * (N - 1))
    for j, k in enumerate(snap.depths):
        naive = tiny.generate(prompt, num_steps=k, max_new_tokens=N, state_table=table)
        assert snap.tokens[:, j].tolist() == naive.new_tokens.tolist(), f"depth {k}"
    if G > 1: assert not torch.equal(snap.tokens[0], snap.tokens[1])  # different s_0 tables, different thoughts


def test_snapshot_stops_are_masked(tiny):
    prompt = torch.randint(0, 256, (2, 8))
    table = make_state_table(tiny, 2, 8 + 6, torch.Generator().manual_seed(0))
    free = decode_snapshots(tiny, prompt, 3, 6, state_table=table)
    stop = free.tokens[0, 0, 1].item()  # the second token of depth 3, row 0
    snap = decode_snapshots(tiny, prompt, 3, 6, state_table=table, stop_tokens=[stop])
    for b in range(2):
        for j, k in enumerate(snap.depths):
            naive = tiny.generate(prompt[b:b + 1], num_steps=k, max_new_tokens=6, state_table=table[b:b + 1],
                                  stop_tokens=[stop])
            n = naive.new_tokens.shape[1]  # generate stops early once every row stopped; snapshots pad to N
            assert snap.tokens[b, j, :n].tolist() == naive.new_tokens[0].tolist()
            assert snap.mask[b, j, :n].tolist() == naive.completion_mask[0].tolist() and not snap.mask[b, j, n:].any()
            assert snap.tokens[b, j, n:].eq(0).all()


def test_final_rows_and_logprob_replay(tiny):
    """The sampled final completion shares the batch; replaying its state table gives the same log-probs."""
    G, P, N, r, T = 3, 9, 7, 4, 0.7
    prompt = torch.randint(0, 256, (1, P)).repeat(G, 1)
    table = make_state_table(tiny, G, P + N, torch.Generator().manual_seed(0))
    snap = decode_snapshots(tiny, prompt, r, N, state_table=table, final=True, temperature=T, top_p=None,
                            generator=torch.Generator().manual_seed(1))
    seq = torch.cat([prompt, snap.final_tokens], 1)
    lp = torch.log_softmax(tiny(seq[:, :-1], num_steps=r, input_states=table[:, :P + N - 1]).logits[:, P - 1:] / T, -1)
    replay = lp.gather(-1, snap.final_tokens[..., None]).squeeze(-1)
    assert torch.allclose(replay[snap.final_mask], snap.final_logprobs[snap.final_mask], atol=1e-4)
    greedy = decode_snapshots(tiny, prompt, r, N, state_table=table, final=True, top_k=1)
    assert torch.equal(greedy.final_tokens, greedy.tokens[:, 0])  # top-1 sampling at depth r == the depth-r snapshot


def test_depth_subset_and_errors(tiny):
    prompt = torch.randint(0, 256, (1, 6))
    table = make_state_table(tiny, 1, 6 + 4, torch.Generator().manual_seed(0))
    full = decode_snapshots(tiny, prompt, 6, 4, state_table=table)
    sub = decode_snapshots(tiny, prompt, 6, 4, state_table=table, depths=[1, 3, 6])
    assert sub.depths == [6, 3, 1]
    for j, k in enumerate(sub.depths): assert torch.equal(sub.tokens[:, j], full.tokens[:, full.depths.index(k)])
    with pytest.raises(ValueError, match="depths"): decode_snapshots(tiny, prompt, 4, 4, depths=[5])
    with pytest.raises(ValueError, match="need a state_table"): decode_snapshots(tiny, prompt, 4, 4, generator=[None])
    with pytest.raises(ValueError, match="state_table"):
        decode_snapshots(tiny, prompt, 4, 4, state_table=table[:, :5])


def test_shared_prefix_attention_grouping():
    torch.manual_seed(0)
    Bp, g, H, P, L, D = 3, 4, 2, 7, 3, 8
    q = torch.randn(g * Bp, H, 1, D)
    Kp, Vp = torch.randn(Bp, H, P, D), torch.randn(Bp, H, P, D)
    Ko, Vo = torch.randn(g * Bp, H, L, D), torch.randn(g * Bp, H, L, D)
    out = shared_prefix_attention(q, Kp, Vp, Ko, Vo)
    for i in range(g * Bp):
        K, V = torch.cat([Kp[i % Bp], Ko[i]], 1), torch.cat([Vp[i % Bp], Vo[i]], 1)
        ref = torch.softmax(q[i] @ K.transpose(-1, -2) / D ** 0.5, -1) @ V
        assert torch.allclose(out[i], ref, atol=1e-5)


def test_bf16_snapshots_run():
    torch.manual_seed(0)
    m = HuginnForCausalLM(HuginnConfig.tiny()).to(torch.bfloat16).eval()
    snap = decode_snapshots(m, torch.randint(0, 256, (2, 8)), 3, 4, generator=torch.Generator().manual_seed(0))
    assert snap.tokens.shape == (2, 3, 4) and snap.state_table.dtype == torch.bfloat16


def test_left_padded_rows_decode_as_alone(tiny):
    "A left-padded batch (own positions, own state-table rows, one sampling stream per row) equals each row alone."
    lens, N, r = [9, 4, 6], 5, 3
    rows = [torch.randint(0, 200, (n,), generator=torch.Generator().manual_seed(n)) for n in lens]
    tabs = [make_state_table(tiny, 1, n + N, torch.Generator().manual_seed(n)) for n in lens]
    P = max(lens)
    ids = torch.stack([torch.cat([torch.zeros(P - n, dtype=torch.long), x]) for n, x in zip(lens, rows)])
    am = torch.stack([torch.arange(P) >= P - n for n in lens])
    tab = torch.cat([torch.cat([t, t.new_zeros(1, P - n, t.shape[2])], 1) for n, t in zip(lens, tabs)])
    streams = lambda seeds: [torch.Generator().manual_seed(s) for s in seeds]
    snap = decode_snapshots(tiny, ids, r, N, state_table=tab, final=True, generator=streams(lens), attention_mask=am)
    for b, (x, t) in enumerate(zip(rows, tabs)):
        one = decode_snapshots(tiny, x[None], r, N, state_table=t, final=True, generator=streams(lens[b:b + 1]))
        assert torch.equal(snap.tokens[b], one.tokens[0]) and torch.equal(snap.final_tokens[b], one.final_tokens[0])
        assert torch.allclose(snap.final_logprobs[b], one.final_logprobs[0], atol=1e-5)
