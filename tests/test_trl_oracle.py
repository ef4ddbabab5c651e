"""TRL as the oracle of lsrl's losses: `Trainer.optimise` (lsrl's own loop: per-rollout backward, the update's token
count, the average across processes) against TRL's `GRPOTrainer._compute_loss` run on the same log-probs, for every
loss type, with and without the KL term, with clipping active and several micro-batches, in one process and in two
(gloo). TRL is a test-only dependency (requirements/dev.txt); lsrl never imports it."""
import json, types
from collections import defaultdict
import pytest
import torch
import torch.distributed as dist

trl_grpo = pytest.importorskip("trl.trainer.grpo_trainer", reason="trl (requirements/dev.txt) is the oracle here")
from lsrl.losses import AdaptiveKLController  # noqa: E402
from lsrl.trainer import Trainer, TrainConfig  # noqa: E402

LOSS_TYPES = ("grpo", "bnpo", "dr_grpo", "dapo")
G, T, K = 4, 6, 3              # sequences per rollout (= TRL's per-device batch), max_new_tokens, shared parameters
EPS, EPS_HIGH, BETA = 0.2, 0.28, 0.04
KL_CASES = [(0.0, False), (BETA, False), (BETA, True)]   # (beta, kl_ratio_weighted = TRL's use_bias_correction_kl)
TOL = 1e-10                    # loss and gradient: float64 throughout, so a difference in the formulas shows far above
METRIC_TOL = 1e-7              # clip fractions and KL: TRL takes these token means in float32


def make_rollouts(n: int, seed: int) -> list:
    """n rollouts of G sequences of varied lengths (1..T tokens), mixed-sign advantages, and old / reference log-probs
    far enough from the policy's that ratios fall outside [1 - EPS, 1 + EPS_HIGH] on both sides."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        lengths = torch.randint(1, T + 1, (G,), generator=g)
        mask = (torch.arange(T)[None] < lengths[:, None]).long()
        base = -torch.rand(G, T, generator=g, dtype=torch.float64) * 3
        X = torch.randn(G, T, K, generator=g, dtype=torch.float64) * 0.3
        out.append(dict(mask=mask, base=base, X=X, adv=torch.randn(G, generator=g, dtype=torch.float64),
                        noise_old=torch.randn(G, T, generator=g, dtype=torch.float64) * 0.35,
                        noise_ref=torch.randn(G, T, generator=g, dtype=torch.float64) * 0.3))
    return out


class Params:
    "The weights both sides differentiate: a shared w (K,) and one per-token offset (G, T) per rollout."
    def __init__(self, n_rollouts: int, seed: int):
        g = torch.Generator().manual_seed(seed)
        self.w = torch.randn(K, generator=g, dtype=torch.float64).requires_grad_()
        self.deltas = [torch.zeros(G, T, dtype=torch.float64, requires_grad=True) for _ in range(n_rollouts)]

    def all(self): return [self.w, *self.deltas]
    def logp(self, d: dict, j: int): return d["base"] + d["X"] @ self.w + self.deltas[j]


def fixed_logps(d: dict, params: Params, j: int):
    "(old, ref) log-probs of rollout j: the policy's at the start, displaced by fixed noise."
    with torch.no_grad(): lp = params.logp(d, j)
    return lp + d["noise_old"], lp + d["noise_ref"]


class RecordingOptimizer:
    "Stands in for AdamW: `step` keeps the (averaged, clipped) gradients the trainer would apply."
    def __init__(self, params): self.params, self.grads = params, None
    def step(self): self.grads = [p.grad.detach().clone() for p in self.params]
    def zero_grad(self, set_to_none=True):
        for p in self.params: p.grad = None


def lsrl_step(data: list, ids: list, loss_type: str, beta: float, weighted: bool, rank=0, world=1) -> dict:
    "One lsrl optimizer step over this process's rollouts `ids` (indices into `data`), through `Trainer.optimise`."
    params = Params(len(data), seed=7)
    cfg = TrainConfig(mode="outcome", model="tiny-random", loss_type=loss_type, beta=beta, adaptive_kl=False,
                      epsilon=EPS, epsilon_high=EPS_HIGH, max_new_tokens=T, group_size=G,
                      prompts_per_update=len(ids) * world, micro_batches=1, max_grad_norm=1e9,
                      kl_ratio_weighted=weighted)
    tr = object.__new__(Trainer)
    tr.cfg, tr.rank, tr.world, tr.device = cfg, rank, world, "cpu"
    tr.params = params.all()
    tr.model = types.SimpleNamespace(train=lambda: None)
    tr.opt, tr.sched = RecordingOptimizer(tr.params), types.SimpleNamespace(step=lambda: None)
    tr.kl = AdaptiveKLController(beta, adaptive=False)
    rollouts = []
    for j in ids:
        old, ref = fixed_logps(data[j], params, j)
        rollouts.append(types.SimpleNamespace(j=j, mask=data[j]["mask"], adv=data[j]["adv"], old=old, ref=ref))
    tr.mode = types.SimpleNamespace(logps=lambda ro: params.logp(data[ro.j], ro.j))
    step = tr.optimise(rollouts)[0]
    return dict(loss=step["loss"], grads=tr.opt.grads, clip_low=step["clip_low"], clip_high=step["clip_high"],
                kl=step["kl_token_mean"], kl_seq=step["kl_seq_mean"])


class Accelerator:
    "The three things `_compute_loss` asks of accelerate, over torch.distributed when there are several processes."
    def __init__(self, world: int): self.num_processes = world

    def gather(self, t):
        if self.num_processes == 1: return t
        t = t.detach().reshape(-1)
        out = [torch.empty_like(t) for _ in range(self.num_processes)]
        dist.all_gather(out, t)
        return torch.cat(out)

    def reduce(self, t, reduction="sum"):
        if self.num_processes == 1: return t
        t = t.detach().clone()
        dist.all_reduce(t)
        return t


def trl_step(data: list, ids: list, loss_type: str, beta: float, weighted: bool, world=1) -> dict:
    """The same step by TRL's own `GRPOTrainer._compute_loss`: an instance made with `object.__new__`, given the
    attributes the method reads, with `_get_per_token_logps_and_entropies` returning our log-probs. Gradients are
    averaged across processes afterwards, as DDP does."""
    params = Params(len(data), seed=7)
    n_items = torch.tensor(float(sum(data[j]["mask"].sum() for j in ids)))
    if world > 1: dist.all_reduce(n_items)     # TRL gathers the generation batch's token count over processes
    obj = object.__new__(trl_grpo.GRPOTrainer)
    obj.loss_type, obj.beta, obj.epsilon_low, obj.epsilon_high = loss_type, beta, EPS, EPS_HIGH
    obj.importance_sampling_level, obj.top_entropy_quantile, obj.off_policy_mask_threshold = "token", 1.0, None
    obj.aux_loss_enabled, obj.use_vllm, obj._entropy_bonus_enabled = False, False, False
    obj.max_completion_length, obj.current_gradient_accumulation_steps = T, len(ids)
    obj.args = types.SimpleNamespace(use_bias_correction_kl=weighted, delta=None, steps_per_generation=len(ids))
    obj.accelerator, obj.model = Accelerator(world), types.SimpleNamespace(training=True)
    obj._metrics = {"train": defaultdict(list), "eval": defaultdict(list)}
    total = 0.0
    for j in ids:
        d = data[j]
        old, ref = fixed_logps(d, params, j)
        logp = params.logp(d, j)
        obj._get_per_token_logps_and_entropies = lambda *a, lp=logp, **k: (lp, torch.zeros_like(lp), None)
        inputs = dict(prompt_ids=torch.zeros(G, 1, dtype=torch.long), prompt_mask=torch.ones(G, 1, dtype=torch.long),
                      completion_ids=torch.zeros(G, T, dtype=torch.long), completion_mask=d["mask"],
                      advantages=d["adv"], old_per_token_logps=old, ref_per_token_logps=ref,
                      num_items_in_batch=n_items)
        loss = obj._compute_loss(None, inputs)
        loss.backward()
        total += loss.item()
    grads = [p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p) for p in params.all()]
    if world > 1:
        for g in grads:
            dist.all_reduce(g)
            g /= world
        t = torch.tensor(total, dtype=torch.float64)
        dist.all_reduce(t)
        total = t.item() / world          # HF Trainer logs the loss averaged over processes
    m = obj._metrics["train"]
    mean = lambda k: sum(m[k]) / len(m[k]) if m[k] else float("nan")
    return dict(loss=total, grads=grads, clip_low=mean("clip_ratio/low_mean"), clip_high=mean("clip_ratio/high_mean"),
                kl=mean("kl"))


def within_tolerance(diff: dict) -> bool:
    return all(v < (TOL if k in ("loss", "grad") else METRIC_TOL) for k, v in diff.items())


def differences(a: dict, b: dict, beta: float) -> dict:
    "Max abs differences of loss, gradient, clip fractions and (with a KL term) the logged KL."
    grad = max((x - y).abs().max().item() for x, y in zip(a["grads"], b["grads"]))
    out = dict(loss=abs(a["loss"] - b["loss"]), grad=grad,
               clip_low=abs(a["clip_low"] - b["clip_low"]), clip_high=abs(a["clip_high"] - b["clip_high"]))
    if beta: out["kl"] = abs(a["kl"] - b["kl"])
    return out


def test_the_cases_exercise_clipping_and_varied_lengths():
    data = make_rollouts(3, seed=0)
    r = trl_step(data, [0, 1, 2], "dapo", BETA, False)
    assert 0 < r["clip_low"] < 1 and 0 < r["clip_high"] < 1
    lengths = torch.cat([d["mask"].sum(1) for d in data])
    assert lengths.min() < lengths.max() and any(g.abs().sum() > 0 for g in r["grads"])


@pytest.mark.parametrize("beta,weighted", KL_CASES, ids=["beta0", "beta", "beta-ratio-weighted-kl"])
@pytest.mark.parametrize("loss_type", LOSS_TYPES)
def test_one_process_matches_trl(loss_type, beta, weighted):
    data = make_rollouts(3, seed=1)      # three micro-batches of gradient accumulation
    ids = [0, 1, 2]
    ours, theirs = lsrl_step(data, ids, loss_type, beta, weighted), trl_step(data, ids, loss_type, beta, weighted)
    diff = differences(ours, theirs, beta)
    assert within_tolerance(diff), diff
    assert abs(ours["loss"]) > 1e-3 and max(g.abs().max().item() for g in ours["grads"]) > 1e-3


def _two_process_worker(rank: int, store: str, out: str):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=2)
    # 2 processes x 2 micro-batches; rank 1's completions are longer, so per-process token means differ from the
    # global one
    data = make_rollouts(4, seed=2)
    for j in (1, 3): data[j]["mask"] = torch.ones(G, T, dtype=torch.long)
    ids = [rank, rank + 2]                 # lsrl splits an update's prompts across processes by stride
    results = {}
    for loss_type in LOSS_TYPES:
        for beta, weighted in KL_CASES[1:]:
            ours = lsrl_step(data, ids, loss_type, beta, weighted, rank=rank, world=2)
            theirs = trl_step(data, ids, loss_type, beta, weighted, world=2)
            one = lsrl_step(data, [0, 1, 2, 3], loss_type, beta, weighted)   # the same prompts in one process
            results[f"{loss_type}/beta={beta}/weighted={weighted}"] = dict(
                trl=differences(ours, theirs, beta),
                one_process={k: v for k, v in differences(ours, one, 0.0).items() if k in ("loss", "grad")}
                | dict(kl_seq_mean=abs(ours["kl_seq"] - one["kl_seq"])))
    if rank == 0:
        with open(out, "w") as f: json.dump(results, f)
    dist.destroy_process_group()


@pytest.mark.slow
def test_two_processes_match_trl_and_one_process(tmp_path):
    import torch.multiprocessing as mp
    mp.spawn(_two_process_worker, args=(str(tmp_path / "store"), str(tmp_path / "out.json")), nprocs=2)
    results = json.loads((tmp_path / "out.json").read_text())
    assert len(results) == 8
    bad = {k: v for k, v in results.items() if not within_tolerance(v["trl"])}
    assert not bad, f"lsrl (2 processes) differs from TRL (2 processes): {bad}"
    # grpo/bnpo/dr_grpo average per-process means; with equal sequences per micro-batch the global objective and
    # gradient are those of one process; dapo divides by the global token count, so it matches too. (The clip
    # fractions and the token-mean KL are, as TRL logs them, means over micro-batches of token means across
    # processes: they depend on how the prompts are split, and are compared with TRL only.)
    bad = {k: v for k, v in results.items() if not within_tolerance(v["one_process"])}
    assert not bad, f"2 processes differ from 1 process over the same prompts: {bad}"
