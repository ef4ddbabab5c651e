"""Layouts other than 2/4/2 through the per-step KV cache, and the reference's adaptive-exit step conventions."""
import pytest
import torch
from lsrl.huginn import ExitCriterion, HuginnCache, HuginnConfig, HuginnForCausalLM
from lsrl.latents import make_state_table

LAYOUTS = [(2, 4, 2), (3, 3, 1), (1, 2, 1), (1, 1, 1), (2, 5, 1), (3, 2, 2)]


def layout_model(prelude, core, coda, seed=0):
    torch.manual_seed(seed)
    cfg = HuginnConfig.tiny(n_layers=prelude + core + coda, n_layers_in_prelude=prelude,
                            n_layers_in_recurrent_block=core, n_layers_in_coda=coda)
    return HuginnForCausalLM(cfg).eval()


def full_logprobs(model, seq, r, table):
    "Log-probs of every next token from one uncached forward over the whole sequence."
    return torch.log_softmax(model(seq, num_steps=r, input_states=table[:, :seq.shape[1]]).logits, -1)


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda t: "/".join(map(str, t)))
def test_cached_generate_matches_full_forward(layout):
    m = layout_model(*layout)
    r, P, N = 3, 6, 6
    ids = torch.randint(0, 256, (2, P), generator=torch.Generator().manual_seed(1))
    table = make_state_table(m, 2, P + N, torch.Generator().manual_seed(2))
    g = m.generate(ids, num_steps=r, max_new_tokens=N, state_table=table)
    lp = full_logprobs(m, g.sequences[:, :-1], r, table)[:, P - 1:]
    ref = lp.gather(-1, g.new_tokens[..., None]).squeeze(-1)
    assert (g.logprobs - ref).abs().max().item() < 1e-5
    assert torch.equal(g.new_tokens, lp.argmax(-1))  # greedy under the full forward too


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda t: "/".join(map(str, t)))
def test_step_by_step_cache_matches_full_forward(layout):
    prelude, core, coda = layout
    m = layout_model(*layout)
    r, P, N = 2, 5, 4
    seq = torch.randint(0, 256, (1, P + N), generator=torch.Generator().manual_seed(3))
    table = make_state_table(m, 1, P + N, torch.Generator().manual_seed(4))
    cache = HuginnCache()
    parts = [m(seq[:, :P], num_steps=r, input_states=table[:, :P], past_key_values=cache).logits]
    for p in range(P, P + N):
        parts.append(m(seq[:, p:p + 1], num_steps=r, input_states=table[:, p:p + 1], past_key_values=cache).logits)
    cached = torch.log_softmax(torch.cat(parts, 1), -1)
    assert (cached - full_logprobs(m, seq, r, table)).abs().max().item() < 1e-5
    # one slot per block call: prelude 0 .. p-1, then core layer j of step i at p + c*i + j, the coda at -1 .. -coda
    assert cache.slots == list(range(-coda, 0)) + list(range(prelude + core * r))


@pytest.mark.parametrize("layout", [(3, 3, 1), (1, 2, 1), (2, 5, 1), (2, 4, 2)], ids=lambda t: "/".join(map(str, t)))
def test_latest_lookup_borrows_the_same_core_layer(layout):
    prelude, core, _ = layout
    m = layout_model(*layout)
    ids, tok = torch.randint(0, 256, (1, 6)), torch.tensor([[5]])
    table = make_state_table(m, 1, 8, torch.Generator().manual_seed(0))
    c = HuginnCache(lookup="latest-m4")
    m(ids, num_steps=4, input_states=table[:, :6], past_key_values=c)
    m(tok, num_steps=2, input_states=table[:, 6:7], past_key_values=c)  # position 6 stops after core step 1
    out = m(tok, num_steps=4, input_states=table[:, 7:8], past_key_values=c)
    assert torch.isfinite(out.logits).all()
    slot = lambda i, j: prelude + core * i + j
    for j in range(core):
        for i in (2, 3):  # the deepest computed step of layer j at position 6 is step 1
            K, V = c.read(slot(i, j))
            assert torch.equal(K[:, :, 6], c.k[slot(1, j)][:, :, 6])
            assert torch.equal(V[:, :, 6], c.v[slot(1, j)][:, :, 6])
            assert torch.equal(K[:, :, 7], c.k[slot(i, j)][:, :, 7])  # its own entry where it has one
    for p in range(prelude):
        assert bool(c.filled[p][:8].all())  # prelude slots are never borrowed into


def test_cache_serves_one_layout():
    a, b = layout_model(2, 4, 2), layout_model(3, 3, 1)
    c = HuginnCache()
    a(torch.zeros(1, 3, dtype=torch.long), num_steps=1, past_key_values=c)
    with pytest.raises(ValueError, match="one cache per model"): b(torch.zeros(1, 1, dtype=torch.long), num_steps=1,
                                                      past_key_values=c)


# -- adaptive exit: the reference's `min_steps` and `check_every` ---------------------------------------------------

class StepProbe:
    "Exits a row once `at` core steps have run; logs the step count of every check. Counts steps via the model."
    needs_logits = False
    last = None

    def __init__(self, model, at, log):
        self.model, self.at, self.log, self.start = model, at, log, model.core_token_steps

    def update(self, s_prev, s, logits):
        k = (self.model.core_token_steps - self.start) // (s.shape[0] * s.shape[1])
        self.log.append(k)
        return torch.full((s.shape[0],), k >= self.at, dtype=torch.bool)


def checked_steps(min_steps, check_every, max_steps):
    "The reference's schedule: steps min_steps + 1 + j * check_every (j = 0, 1, ...) up to max_steps."
    return list(range(min_steps + 1, max_steps + 1, check_every))


@pytest.mark.parametrize("min_steps,check_every", [(0, 1), (3, 1), (0, 2), (1, 2), (2, 3), (5, 4), (7, 1), (9, 1)])
def test_adaptive_exit_checks_the_reference_steps(tiny, min_steps, check_every):
    R = 8
    ids = torch.randint(0, 256, (2, 3))
    table = make_state_table(tiny, 2, 3 + 2, torch.Generator().manual_seed(0))
    expected = checked_steps(min_steps, check_every, R)
    for at in range(0, R + 2):  # a criterion that says "exit" from step `at` on
        log = []
        _, _, used, vals = tiny._adaptive_forward(ids, R, table[:, :3], HuginnCache("latest-m4"),
                                                  StepProbe(tiny, at, log), min_steps, check_every, None, 1.0,
                                                  None, None)
        first = next((k for k in expected if k >= at), R)  # the first checked step at or after `at`, else the cap
        assert used.tolist() == [first, first], (at, used.tolist(), expected)
        assert sorted(set(log)) == [k for k in expected if k <= first]  # no check outside the schedule
    # through generate, with a criterion that always says "exit": every token (prefill too) stops at min_steps + 1
    always = tiny.generate(ids, num_steps=R, max_new_tokens=2, state_table=table, min_steps=min_steps,
                           check_every=check_every, exit_criterion="latent-diff", exit_threshold=float("inf"))
    assert always.steps.eq(min(min_steps + 1, R)).all()
    if min_steps >= R: assert always.exit_values.isnan().all()  # never checked: the cap, with no criterion value
    else: assert (always.exit_values > 0).all()


def test_adaptive_forward_first_exit_is_min_steps_plus_one(tiny):
    ids = torch.randint(0, 256, (2, 5))
    s0 = make_state_table(tiny, 2, 5, torch.Generator().manual_seed(0))
    always = lambda: ExitCriterion("latent-diff", threshold=float("inf"))
    for min_steps in range(4):
        _, _, used, _ = tiny._adaptive_forward(ids, 6, s0, HuginnCache("latest-m4"), always(), min_steps, 1, None,
                                               1.0, None, None)
        assert used.tolist() == [min_steps + 1] * 2
    with pytest.raises(ValueError, match="check_every"):
        tiny.generate(ids, num_steps=4, max_new_tokens=1, exit_criterion="kl", check_every=0)


def test_documented_evaluator_contract_is_enough(tiny):
    "A custom evaluator with only the two documented members, `.update` and `.needs_logits`."
    class ExitAtThird:
        needs_logits = True

        def __init__(self): self.calls = 0

        def update(self, s_prev, s, logits):
            assert logits is not None and logits.shape == (s.shape[0], 256)
            self.calls += 1
            return torch.full((s.shape[0],), self.calls >= 3, dtype=torch.bool)

    ids = torch.randint(0, 256, (2, 5))
    table = make_state_table(tiny, 2, 5 + 4, torch.Generator().manual_seed(0))
    g = tiny.generate(ids, num_steps=8, max_new_tokens=4, state_table=table, exit_criterion=ExitAtThird)
    assert g.steps.eq(3).all()
    assert g.exit_values.isnan().all()  # no `.last`: no value to report
    fixed = tiny.generate(ids, num_steps=3, max_new_tokens=4, state_table=table)
    assert torch.equal(g.sequences, fixed.sequences)  # exiting at step 3 everywhere == fixed depth 3
