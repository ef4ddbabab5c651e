"""`lsrl train` under torchrun: two CPU processes (gloo) end with the adapter of the one-process run over the same
prompts, for every loss type, and only rank 0 prints progress and writes the run folder."""
import json, os, signal, socket, subprocess, sys, time
from pathlib import Path
import pytest
import torch
from safetensors.torch import load_file

pytestmark = pytest.mark.slow
HERE = Path(__file__).resolve().parent
# loss type: (reward scaling, updates). "batch" scaling checks that the batch std spans both processes' rewards, dapo
# that the token count it divides by is the whole update's. lsrl mode: adaptive beta, so a second update checks that
# every process moved beta by the same (global) KL and that both processes' weights stayed equal (rank 1's rollouts and
# gradients of update 2 come from its own copy); that is the same code for every loss type, so one run has 2 updates
# and the others 1 (the fewest that check what they check).
RUNS = dict(grpo=("group", 2), bnpo=("batch", 1), dr_grpo=("none", 1), dapo=("batch", 1))
SETTINGS = dict(mode="lsrl", model="tiny-random", num_steps=2, group_size=2, prompts_per_update=4, micro_batches=1,
                max_new_tokens=6, train_size=8, grader="symbolic", lr=1e-3, seed=1)
PROGRESS = ("run folder", "update/s", "s/update", "%|")   # the CLI's last line and tqdm's bar


def train_args(loss_type: str, run_dir: Path) -> list:
    scaling, updates = RUNS[loss_type]
    sets = [f"{k}={v}" for k, v in (SETTINGS | dict(loss_type=loss_type, scale_rewards=scaling, updates=updates,
                                                    checkpoint_every=updates)).items()]
    return ["train", *[a for kv in sets for a in ("--set", kv)], "--run-dir", str(run_dir)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def final_adapter(run_dir: Path, updates: int) -> dict:
    return load_file(str(run_dir / f"ckpt-{updates:06d}" / "adapter" / "adapter_model.safetensors"))


def test_two_processes_end_with_the_one_process_adapter(tmp_path):
    t0 = time.time()
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"} | dict(OMP_NUM_THREADS="1")
    argv = [a for lt in RUNS for a in ("--", *train_args(lt, tmp_path / "two" / lt))]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc_per_node", "2",
           "--master_addr", "127.0.0.1", "--master_port", str(free_port()), "--log_dir", str(tmp_path / "logs"),
           "--redirects", "3", str(HERE / "torchrun_cli.py"), *argv]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    # meanwhile, the one-process runs here (the launcher's ranks and this process share the cores)
    from lsrl.cli import main
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for lt in RUNS: assert main(train_args(lt, tmp_path / "one" / lt)) == 0
    finally: torch.set_num_threads(threads)
    try: out, _ = proc.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)   # the launcher and its two ranks (their own session)
        out, _ = proc.communicate()
        pytest.fail(f"torchrun still running after 240 s:\n{out[-3000:]}")
    logs = {int(p.parent.name): p.parent for p in (tmp_path / "logs").rglob("stdout.log")}
    read = lambda rank, name: (logs[rank] / name).read_text() if (logs[rank] / name).exists() else ""
    assert proc.returncode == 0, f"{out[-3000:]}\nrank 0:\n{read(0, 'stderr.log')[-3000:]}"
    print(f"torchrun test: {time.time() - t0:.1f} s")

    wrong = []
    for lt, (_, updates) in RUNS.items():
        one, two = final_adapter(tmp_path / "one" / lt, updates), final_adapter(tmp_path / "two" / lt, updates)
        assert one.keys() == two.keys()
        assert any(v.abs().max() > 0 for k, v in one.items() if "lora_B" in k), "the run did not train"
        worst = max((one[k] - two[k]).abs().max().item() for k in one)
        print(f"{lt}: largest adapter difference {worst:.3g}")
        # 1e-5: the one-process run takes log-probs of 4 prompts in one padded forward, each rank of 2; the samples are
        # identical (one stream per trajectory), only float rounding of the batch shapes differs (3.3e-6 measured)
        if worst >= 1e-5: wrong.append(f"{lt}: the 2-process adapter differs from the 1-process one by {worst:.3g}")
        rows = [json.loads(line) for line in (tmp_path / "two" / lt / "metrics.jsonl").read_text().splitlines()]
        ref = [json.loads(line) for line in (tmp_path / "one" / lt / "metrics.jsonl").read_text().splitlines()]
        if len(rows) != updates: wrong.append(f"{lt}: {len(rows)} rows in metrics.jsonl, not 1 per update")
        for a, b in zip(rows, ref):   # the KL that drives beta, and beta, are the whole update's
            if abs(a["kl"] - b["kl"]) > 1e-6 or abs(a["beta_next"] - b["beta_next"]) > 1e-9:
                wrong.append(f"{lt} update {a['update']}: kl {a['kl']:.6g} / beta {a['beta_next']:.9g} with 2 "
                             f"processes, {b['kl']:.6g} / {b['beta_next']:.9g} with one")

    rank0, rank1 = read(0, "stdout.log") + read(0, "stderr.log"), read(1, "stdout.log") + read(1, "stderr.log")
    if rank0.count("run folder") != len(RUNS) or "%|" not in rank0: wrong.append("rank 0 did not show its progress")
    shown = [line.strip()[-90:] for line in rank1.replace("\r", "\n").splitlines() if any(p in line for p in PROGRESS)]
    if shown: wrong.append(f"rank 1 printed progress: {shown[:2]} and {len(shown) - 2} more")
    assert not wrong, "\n".join(wrong)
