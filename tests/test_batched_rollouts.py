"""Batched rollouts: a micro-batch of prompts (left-padded, one sampling stream per trajectory) samples exactly what
each prompt samples alone, in every mode; batched log-probs match per-rollout ones; outcome mode trains HF causal LMs;
the diagnostics metrics."""
import math
import pytest
import torch
from lsrl.trainer import Trainer, TrainConfig

BASE = dict(num_steps=2, group_size=4, prompts_per_update=8, micro_batches=1, max_new_tokens=12, train_size=16,
            grader="symbolic", seed=5, updates=0, report_to="none")
CASES = [("outcome", "tiny"), ("lsrl", "tiny"), ("hrpo", "tiny"), ("outcome", "tiny-causal"), ("hrpo", "tiny-causal")]


@pytest.fixture(scope="module", params=CASES, ids=[f"{m}-{n}" for m, n in CASES])
def trainer(request, tmp_path_factory):
    mode, model = request.param
    return Trainer(TrainConfig(**BASE, mode=mode, model=model), tmp_path_factory.mktemp(f"{mode}-{model}"))


def test_batch_of_8_prompts_samples_what_each_samples_alone(trainer):
    problems = trainer.prompts_for(0)
    assert len(problems) == 8
    lens = {len(trainer.mode.prompt_ids(p)) for p in problems}
    assert len(lens) > 1                                    # prompts of different lengths: the batch is padded
    batch = trainer.mode.rollouts(problems, update=0)
    for p, ro in zip(problems, batch):
        one = trainer.mode.rollout(p, update=0)
        assert ro.problem.id == one.problem.id and torch.equal(ro.prompt, one.prompt)
        assert torch.equal(ro.completions, one.completions) and torch.equal(ro.mask, one.mask)
        assert ro.finals == one.finals and ro.snapshots == one.snapshots
        assert torch.allclose(ro.logprobs, one.logprobs, atol=1e-5)
        assert ro.completions.shape == (BASE["group_size"], BASE["max_new_tokens"])
    again = trainer.mode.rollouts(problems[::-1], update=0)  # another batch order: the same samples per problem
    for ro, back in zip(batch, again[::-1]): assert torch.equal(ro.completions, back.completions)
    draws = [[float(torch.rand(1, generator=g)) for g in trainer.mode.generators(problems[0], u)] for u in (0, 1)]
    assert len(set(draws[0] + draws[1])) == 2 * BASE["group_size"]   # a stream per trajectory and update


def test_batched_logps_match_per_rollout_and_replay_the_sampling(trainer):
    problems = trainer.prompts_for(0)[:3]
    ros = trainer.mode.rollouts(problems, update=0)
    together = trainer.mode.batch_logps(ros, grad=False)
    for ro, lp in zip(ros, together):
        alone = trainer.mode.logps(ro, grad=False)
        assert lp.shape == ro.mask.shape
        assert torch.allclose(lp[ro.mask], alone[ro.mask], atol=1e-5)
        assert torch.allclose(lp[ro.mask], ro.logprobs[ro.mask].float(), atol=1e-4)
    with trainer.model.disable_adapter():
        refs = trainer.mode.batch_logps(ros, grad=False, reference=True)
    assert all(r.shape == ro.mask.shape and torch.isfinite(r[ro.mask]).all() for r, ro in zip(refs, ros))


@pytest.mark.parametrize("model", ["tiny-causal", "tiny-qwen2"])
def test_one_outcome_update_on_a_causal_lm_changes_the_lora_weights(tmp_path, model):
    cfg = TrainConfig(**{**BASE, "updates": 1, "prompts_per_update": 4, "micro_batches": 2, "max_new_tokens": 8},
                      mode="outcome", model=model, lr=1e-2, beta=0.1, adaptive_kl=False)
    from lsrl.grader import GradeResult
    class Alternating:   # every other trajectory right: every group has a spread, so the update has a gradient
        def grade_all(self, reqs): return [GradeResult([], [], i % 2 == 0) for i in range(len(reqs))]
    tr = Trainer(cfg, tmp_path, grader=Alternating())
    assert not tr.huginn and tr.cfg.lora_targets == "all"
    before = [p.detach().clone() for p in tr.params]
    m = tr.train()[0]
    assert m["skipped_nonfinite"] == 0 and m["grad_norm"] > 0
    assert any(not torch.equal(a, b) for a, b in zip(before, tr.params))
    assert m["lora_delta"] > 0 and m["zero_spread_groups"] == 0.0


def test_lsrl_mode_stays_huginn_only():
    with pytest.raises(ValueError, match="can only train Huginn"): TrainConfig(mode="lsrl", model="tiny-causal")


def test_diagnostics_metrics(tmp_path):
    from lsrl.rewards import group_advantages
    from lsrl.trainer import group_diagnostics
    R = torch.tensor([0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 1.0, 3.0])
    d = group_diagnostics(R, group_advantages(R, 2), 2)
    assert d["zero_spread_groups"] == 0.5
    assert math.isclose(d["reward_group_std"], (0 + 2 ** -0.5 + 0 + 2 ** 0.5) / 4)
    assert math.isclose(d["adv_abs_mean"], (0.5 * 2 + 1.0 * 2) / 8)
    tr = Trainer(TrainConfig(**{**BASE, "updates": 1, "prompts_per_update": 2, "max_new_tokens": 6},
                             mode="outcome", model="tiny-random", lr=1e-3), tmp_path)
    m = tr.train()[0]
    for k in ("zero_spread_groups", "reward_group_std", "adv_abs_mean", "lora_delta"):
        assert k in m and math.isfinite(m[k]), k
    assert 0.0 <= m["zero_spread_groups"] <= 1.0 and m["reward_group_std"] >= 0 and m["adv_abs_mean"] >= 0
    assert (m["lora_delta"] > 0) == (m["grad_norm"] > 0)
