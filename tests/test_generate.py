"""Generation: cached vs naive, sampling, stops, warm start, adaptive exit, padded batches."""
import pytest
import torch
from lsrl.huginn import EXIT_THRESHOLDS, HuginnCache, HuginnConfig, HuginnForCausalLM
from lsrl.latents import make_state_table


def naive_greedy(model, ids, r, n, table):
    seq = ids
    for _ in range(n):
        nxt = model(seq, num_steps=r, input_states=table[:, :seq.shape[1]]).logits[:, -1].argmax(-1, keepdim=True)
        seq = torch.cat([seq, nxt], 1)
    return seq


@pytest.mark.parametrize("r", [1, 3, 6])
def test_cached_greedy_equals_recompute(tiny, r):
    ids = torch.randint(0, 256, (3, 7))
    table = make_state_table(tiny, 3, 7 + 6, torch.Generator().manual_seed(r))
    g = tiny.generate(ids, num_steps=r, max_new_tokens=6, state_table=table)
    assert torch.equal(g.sequences, naive_greedy(tiny, ids, r, 6, table))
    assert g.steps.eq(r).all() and g.completion_mask.all() and g.new_tokens.shape == (3, 6)
    lp = torch.log_softmax(tiny(g.sequences[:, :-1], num_steps=r, input_states=table[:, :12]).logits[:, 6:], -1)
    assert torch.allclose(g.logprobs, lp.gather(-1, g.new_tokens[..., None]).squeeze(-1), atol=1e-5)


def test_sampling_is_seeded_and_filtered(tiny):
    ids = torch.randint(0, 256, (2, 5))
    table = make_state_table(tiny, 2, 5 + 8, torch.Generator().manual_seed(0))
    run = lambda seed, **kw: tiny.generate(ids, num_steps=2, max_new_tokens=8, state_table=table, do_sample=True,
                                           generator=torch.Generator().manual_seed(seed), **kw).sequences
    assert torch.equal(run(1, temperature=1.5), run(1, temperature=1.5))
    assert not torch.equal(run(1, temperature=1.5), run(2, temperature=1.5))
    greedy = tiny.generate(ids, num_steps=2, max_new_tokens=8, state_table=table).sequences
    assert torch.equal(run(3, top_k=1), greedy) and torch.equal(run(4, top_p=1e-6), greedy)


def test_stop_tokens_and_completion_mask(tiny):
    ids = torch.randint(0, 256, (2, 5))
    table = make_state_table(tiny, 2, 5 + 8, torch.Generator().manual_seed(0))
    free = tiny.generate(ids, num_steps=2, max_new_tokens=8, state_table=table)
    stop = free.new_tokens[0, 2].item()
    g = tiny.generate(ids, num_steps=2, max_new_tokens=8, state_table=table, stop_tokens=[stop])
    row0 = g.new_tokens[0].tolist()
    first = row0.index(stop)
    assert g.completion_mask[0].tolist() == [i <= first for i in range(len(row0))]
    assert all(t == 0 for t in row0[first + 1:])  # pad (id 0 for a config without pad) after the stop
    assert g.new_tokens[0, :first + 1].tolist() == free.new_tokens[0, :first + 1].tolist()


def test_warm_start_carries_previous_state(tiny):
    ids = torch.randint(0, 256, (1, 5))
    table = make_state_table(tiny, 1, 5 + 4, torch.Generator().manual_seed(0))
    for mode in ("raw", "normed"):
        g = tiny.generate(ids, num_steps=3, max_new_tokens=4, state_table=table, warm_start=mode)
        cache = HuginnCache()
        out = tiny(ids, num_steps=3, input_states=table[:, :5], past_key_values=cache)
        toks = []
        for _ in range(4):
            tok = out.logits[:, -1].argmax(-1, keepdim=True)
            toks.append(tok)
            s = out.states[:, -1:] if mode == "raw" else tiny.transformer.ln_f(out.states[:, -1:])
            out = tiny(tok, num_steps=3, input_states=s, past_key_values=cache)
        assert g.new_tokens.tolist() == torch.cat(toks, 1).tolist()
    with pytest.raises(ValueError, match="warm_start"): tiny.generate(ids, max_new_tokens=1, warm_start="hot")


@pytest.mark.parametrize("criterion", [c for c in EXIT_THRESHOLDS if c != "none"])
def test_adaptive_exit_criteria(tiny, criterion):
    ids = torch.randint(0, 256, (2, 6))
    table = make_state_table(tiny, 2, 6 + 5, torch.Generator().manual_seed(0))
    never = 0 if criterion != "argmax-stability" else 10**6
    always = 1e9 if criterion != "argmax-stability" else 0
    g = tiny.generate(ids, num_steps=12, max_new_tokens=5, state_table=table, exit_criterion=criterion,
                      exit_threshold=never)
    assert g.steps.eq(12).all()
    fixed = tiny.generate(ids, num_steps=12, max_new_tokens=5, state_table=table)
    assert torch.equal(g.sequences, fixed.sequences)  # never exiting == fixed depth
    g = tiny.generate(ids, num_steps=12, max_new_tokens=5, state_table=table, exit_criterion=criterion,
                      exit_threshold=always)
    assert g.steps.eq(1).all()
    g = tiny.generate(ids, num_steps=12, max_new_tokens=5, state_table=table, exit_criterion=criterion,
                      exit_threshold=always, min_steps=3)
    assert g.steps.eq(4).all()  # the reference's min_steps: no check in steps 1 .. 3, the earliest exit is step 4
    auto = tiny.generate(ids, num_steps=12, max_new_tokens=5, state_table=table, exit_criterion=criterion)
    assert ((auto.steps >= 1) & (auto.steps <= 12)).all()


def test_adaptive_exit_saves_steps_on_a_converging_model():
    torch.manual_seed(0)
    m = HuginnForCausalLM(HuginnConfig.tiny()).eval()
    ids = torch.randint(0, 256, (1, 8))
    g = m.generate(ids, num_steps=32, max_new_tokens=6, exit_criterion="latent-diff", exit_threshold=0.05,
                   generator=torch.Generator().manual_seed(0))
    assert g.steps.float().mean() < 32


def test_left_padded_forward_matches_unpadded_rows(tiny):
    lens = [7, 4, 5]
    L = max(lens)
    rows = [torch.randint(0, 256, (n,)) for n in lens]
    tables = [make_state_table(tiny, 1, L, torch.Generator().manual_seed(i))[0] for i in range(3)]
    ids, mask = torch.zeros(3, L, dtype=torch.long), torch.zeros(3, L, dtype=torch.long)
    states = torch.zeros(3, L, 64)
    for i, (r, t) in enumerate(zip(rows, tables)):
        ids[i, L - len(r):] = r
        mask[i, L - len(r):] = 1
        states[i, L - len(r):] = t[:len(r)]
    out = tiny(ids, num_steps=3, input_states=states, attention_mask=mask)
    assert torch.isfinite(out.logits).all()
    for i, (r, t) in enumerate(zip(rows, tables)):
        single = tiny(r[None], num_steps=3, input_states=t[None, :len(r)]).logits[0]
        assert (out.logits[i, L - len(r):] - single).abs().max() < 1e-4


def test_left_padded_generate_matches_unpadded(tiny):
    lens, n_new = [6, 3], 5
    L = max(lens)
    rows = [torch.randint(0, 256, (n,)) for n in lens]
    table = make_state_table(tiny, 2, L + n_new, torch.Generator().manual_seed(0))
    ids, mask = torch.zeros(2, L, dtype=torch.long), torch.zeros(2, L, dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, L - len(r):] = r
        mask[i, L - len(r):] = 1
    g = tiny.generate(ids, num_steps=3, max_new_tokens=n_new, state_table=table, attention_mask=mask)
    for i, r in enumerate(rows):  # the state table is indexed by each row's own positions
        single = tiny.generate(r[None], num_steps=3, max_new_tokens=n_new, state_table=table[i:i + 1, :len(r) + n_new])
        assert g.new_tokens[i].tolist() == single.new_tokens[0].tolist()


def test_positions_beyond_block_size_raise(tiny):
    with pytest.raises(ValueError, match="block_size"): tiny(torch.zeros(1, 129, dtype=torch.long), num_steps=1)
    with pytest.raises(ValueError, match="block_size"):
        tiny.generate(torch.zeros(1, 100, dtype=torch.long), max_new_tokens=40)


@pytest.mark.cuda
def test_bf16_generation_on_cuda():
    torch.manual_seed(0)
    m = HuginnForCausalLM(HuginnConfig.tiny()).to("cuda", torch.bfloat16).eval()
    ids = torch.randint(0, 256, (2, 8), device="cuda")
    table = make_state_table(m, 2, 8 + 6, torch.Generator("cuda").manual_seed(0))
    g = m.generate(ids, num_steps=4, max_new_tokens=6, state_table=table)
    assert m.freqs_cis.dtype == torch.float32 and g.sequences.device.type == "cuda"
    assert torch.equal(g.sequences, naive_greedy(m, ids, 4, 6, table))


def test_stop_strings_and_pluggable_evaluator(tiny):
    from lsrl.huginn import byte_tokenizer
    tok = byte_tokenizer()
    ids = torch.randint(0, 256, (1, 5))
    table = make_state_table(tiny, 1, 5 + 8, torch.Generator().manual_seed(0))
    free = tiny.generate(ids, num_steps=2, max_new_tokens=8, state_table=table).new_tokens[0].tolist()
    j = next(i for i, t in enumerate(free) if t < 128)  # the first ASCII byte: its one-character string is that token
    g = tiny.generate(ids, num_steps=2, max_new_tokens=8, state_table=table, stop_strings=[chr(free[j]) + "tail"],
                      tokenizer=tok)
    assert g.new_tokens[0].tolist() == free[:j + 1] and g.completion_mask.all()
    with pytest.raises(ValueError, match="tokenizer"): tiny.generate(ids, max_new_tokens=2, stop_strings=["x"])

    class ExitAtThree:  # a user's evaluator: exit once 3 steps have run
        needs_logits = False
        def __init__(self): self.k, self.last = 0, None
        def update(self, s_prev, s, logits):
            self.k += 1
            self.last = torch.full((s.shape[0],), float(self.k))
            return self.last >= 3
    g = tiny.generate(ids, num_steps=10, max_new_tokens=4, state_table=table, exit_criterion=ExitAtThree)
    assert g.steps.eq(3).all() and g.exit_values.eq(3).all()
    assert tiny.generate(ids, num_steps=3, max_new_tokens=2).exit_values.isnan().all()


def test_forward_accepts_wrapper_kwargs(tiny):
    ids = torch.randint(0, 256, (1, 4))
    out = tiny(input_ids=ids, num_steps=1, return_dict=True, output_attentions=False, attention_mask=torch.ones(1, 4))
    assert out.logits.shape == (1, 4, 256)
    with pytest.raises(TypeError, match="unexpected arguments"): tiny(ids, num_steps=1, num_stepz=2)
    with pytest.raises(NotImplementedError): tiny(ids, num_steps=1, output_attentions=True)
