"""Checkpoints that cannot run code: the trainer state is written as safetensors + JSON, a pickle that would call
anything on loading is refused with `CheckpointError` (and nothing runs), and run folders written by earlier lsrl
versions (`state.pt`) still resume, bit-exact."""
import os, random
import pytest
import torch
from lsrl.huginn import CheckpointError
from lsrl.trainer import Trainer, TrainConfig

TINY = dict(mode="lsrl", model="tiny-random", num_steps=2, group_size=2, prompts_per_update=2, micro_batches=1,
            max_new_tokens=6, train_size=8, grader="symbolic", lr=1e-3, seed=3)
TIMING = ("peak_memory_mb",)


def strip(hist): return [{k: v for k, v in m.items() if k not in TIMING and not k.startswith("time_")} for m in hist]


class Payload:
    "Unpickling this runs a shell command that creates `marker` (what a crafted checkpoint could do)."
    def __init__(self, marker): self.marker = marker
    def __reduce__(self): return (os.system, (f"touch {self.marker}",))


def write_legacy_state(tr: Trainer, ckpt, rng_cuda: bool = False):
    "The trainer state as lsrl wrote it before safe checkpoints: one pickled state.pt, and no state.safetensors/json."
    for name in ("state.safetensors", "state.json"): (ckpt / name).unlink(missing_ok=True)
    rng = dict(rng_torch=torch.get_rng_state(), rng_python=random.getstate())
    if rng_cuda:   # what a GPU run added (a CPU resume ignores it)
        on_gpu = torch.cuda.is_available()
        rng["rng_cuda"] = torch.cuda.get_rng_state_all() if on_gpu else [torch.zeros(16, dtype=torch.uint8)]
    torch.save(dict(optimizer=tr.opt.state_dict(), scheduler=tr.sched.state_dict(), **rng), ckpt / "state.pt")


def test_a_checkpoint_holds_no_pickle(tmp_path):
    tr = Trainer(TrainConfig(**TINY, updates=1), tmp_path)
    tr.train()
    ckpt = tr.latest_checkpoint()
    files = sorted(str(p.relative_to(ckpt)) for p in ckpt.rglob("*") if p.is_file())
    assert "state.safetensors" in files and "state.json" in files
    assert all(f.endswith((".safetensors", ".json", ".md")) for f in files), files
    fresh = Trainer(TrainConfig(**TINY, updates=1), tmp_path)
    assert fresh.load_checkpoint()
    a, b = tr.opt.state_dict(), fresh.opt.state_dict()
    assert a["param_groups"] == b["param_groups"] and a["state"].keys() == b["state"].keys()
    for i in a["state"]:
        for k, v in a["state"][i].items(): assert torch.equal(v, b["state"][i][k]), (i, k)
    assert tr.sched.state_dict() == fresh.sched.state_dict()


def test_a_crafted_pickle_is_refused_and_runs_nothing(tmp_path):
    tr = Trainer(TrainConfig(**TINY, updates=0), tmp_path / "run")
    ckpt = tr.save_checkpoint()
    marker = tmp_path / "pwned"
    write_legacy_state(tr, ckpt)
    st = torch.load(ckpt / "state.pt", weights_only=True)
    torch.save(st | dict(optimizer=Payload(marker)), ckpt / "state.pt")   # a state.pt someone else crafted
    with pytest.raises(CheckpointError) as e: tr.load_checkpoint()
    assert not marker.exists(), "loading the checkpoint ran the payload"
    msg = str(e.value)
    assert "state.pt" in msg and str(ckpt) in msg and "--restart" in msg, msg


def test_a_run_folder_of_the_earlier_format_resumes_exactly(tmp_path):
    cfg = TrainConfig(**TINY, updates=2)
    full = Trainer(cfg, tmp_path / "full")
    ref = full.train()
    first = Trainer(cfg.replace(updates=1), tmp_path / "old")
    first.train()
    write_legacy_state(first, first.latest_checkpoint(), rng_cuda=True)
    resumed = Trainer(cfg, tmp_path / "old")
    hist = resumed.train()
    assert resumed.update == 2 and strip(hist) == strip(ref)
    for a, b in zip(full.params, resumed.params): assert torch.equal(a, b)
    assert resumed.kl.beta == full.kl.beta
    assert (resumed.latest_checkpoint() / "state.safetensors").exists()   # what it writes next is the safe format
