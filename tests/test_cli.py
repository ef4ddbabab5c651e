"""The `lsrl` command as a user runs it (the console script in the environment's bin)."""
import subprocess, sys
from pathlib import Path


def run_lsrl(*args):
    exe = Path(sys.executable).parent / "lsrl"
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=300)


def test_demo_prints_every_depth():
    p = run_lsrl("demo", "--depth", "3", "--max-new-tokens", "5")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    header = next(i for i, l in enumerate(lines) if "snapshot" in l)
    depth_rows = [l.split()[0] for l in lines[header + 1:header + 4]]
    assert depth_rows == ["1", "2", "3"]
    assert "3 depths decoded in one batched pass" in p.stdout


def test_bad_arguments_fail_clearly():
    p = run_lsrl("demo", "--depth", "x")
    assert p.returncode == 2 and "invalid int value" in p.stderr
    p = run_lsrl("--version")
    assert p.returncode == 0 and p.stdout.startswith("lsrl ")
