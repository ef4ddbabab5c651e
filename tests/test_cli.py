"""The `lsrl` command as a user runs it (the console script in the environment's bin)."""
import os, subprocess, sys
from pathlib import Path


def run_lsrl(*args, cwd=None):
    exe = Path(sys.executable).parent / "lsrl"
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "LSRL_DEBUG")}  # the offline grader
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=300, env=env, cwd=cwd)


def test_demo_prints_every_depth(tmp_path):
    p = run_lsrl("demo", "--depth", "3", "--max-new-tokens", "5", "--out", str(tmp_path / "demo"))
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if "snapshot" in line)
    depth_rows = [line.split()[0] for line in lines[header + 1:header + 4]]
    assert depth_rows == ["1", "2", "3"]
    assert "3 depths decoded in one batched pass" in p.stdout and "gold answer: 33" in p.stdout
    assert (tmp_path / "demo" / "report.html").stat().st_size > 0 and "pass@1 after training" in p.stdout


def test_bad_arguments_fail_clearly(tmp_path):
    "As a user sees it: one line naming the problem and the fix, one on --debug, status 2, no run folder."
    p = run_lsrl("train", "--set", "lrr=1", cwd=tmp_path)
    err = p.stderr.strip().splitlines()
    assert p.returncode == 2 and len(err) == 2 and "did you mean `lr`?" in err[0] and "--debug" in err[1], p.stderr
    assert "Traceback" not in p.stderr and list(tmp_path.iterdir()) == []
    p = run_lsrl("--version")
    assert p.returncode == 0 and p.stdout.startswith("lsrl ")
