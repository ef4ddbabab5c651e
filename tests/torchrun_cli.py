"""Run lsrl's command line several times in one process: `python torchrun_cli.py train ... -- train ...`.

tests/test_torchrun.py starts it under `torch.distributed.run`, so one launch (and one import of torch and lsrl per
rank) covers a run per loss type; every run goes through `lsrl.cli.main`, exactly as `lsrl train` does, and the
process group joined by the first run serves the others."""
import sys

from lsrl.cli import main

if __name__ == "__main__":
    runs, current = [], []
    for arg in sys.argv[1:] + ["--"]:
        if arg == "--":
            if current: runs.append(current)
            current = []
        else: current.append(arg)
    for argv in runs:
        rc = main(argv)
        if rc: sys.exit(rc)
