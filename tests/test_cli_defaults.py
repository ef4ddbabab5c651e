"""Every default `lsrl` command runs on the default model (the shipped tiny Huginn, whose block is 256 positions)
and exits 0. In-process, small but otherwise default settings. (`lsrl eval --limit 2` is in test_eval.py.)"""
import json

import pytest

from lsrl.cli import main


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)   # the symbolic grader
    monkeypatch.chdir(tmp_path)


def test_train_defaults(tmp_path):
    "The default lsrl recipe, one small update."
    argv = ["train", "--set", "updates=1", "--set", "prompts_per_update=2", "--set", "group_size=2",
            "--set", "micro_batches=1"]
    assert main(argv) == 0
    assert (tmp_path / "runs" / "train" / "metrics.jsonl").read_text().count("\n") == 1


def test_demo_budget_is_cut_to_the_block(tmp_path, capsys):
    "A token budget far past the block is cut to what the prompt leaves."
    assert main(["demo", "--depth", "2", "--max-new-tokens", "1000", "--updates", "0"]) == 0
    out = capsys.readouterr()
    assert "gold answer: 33" in out.out


def test_table3_defaults_in_worker_processes(tmp_path, capsys):
    "`lsrl table3` with its default modes and task, small sizes, two runs trained and scored in two processes."
    argv = ["table3", "--seeds", "0", "--updates", "1", "--heldout", "4", "--depths", "1,8", "--jobs", "2",
            "--set", "group_size=2", "--set", "prompts_per_update=2", "--set", "max_new_tokens=8"]
    assert main(argv) == 0
    out = tmp_path / "runs" / "table3"
    res = json.loads((out / "learning.json").read_text())
    assert [r["name"] for r in res["rows"]] == ["start r=8", "outcome r=8", "lsrl r=8", "start r=32"]
    assert (res["task"], res["n"], res["seeds"]) == ("tiny-hard", 4, [0])
    for mode in ("outcome", "lsrl"):
        assert (out / f"{mode}-seed0" / "metrics.jsonl").read_text().count("\n") == 1
    assert "| lsrl r=8 | 8 |" in capsys.readouterr().out and (out / "report.html").exists()


def test_memory_defaults(capsys):
    "`lsrl memory` with nothing set: the default lsrl recipe on the shipped tiny Huginn fits, loading no weights."
    assert main(["memory"]) == 0
    out = capsys.readouterr().out
    assert "lsrl update on tiny (tiny's config.json)" in out and "as configured" in out


def test_memory_of_the_paper_setting_says_what_fits(capsys):
    "The LSRL recipe on Huginn-0125's shape: one pass over 64 trajectories does not fit 48 GB; the passes that do."
    assert main(["memory", "--set", "model=tomg-group-umd/huginn-0125"]) == 0
    out = capsys.readouterr().out
    assert "does not fit 43.2 GiB (90% of 48 GB) in one pass; fits with --set rollout_rows=" in out
    assert main(["memory", "--set", "model=tomg-group-umd/huginn-0125", "--gpu-gb", "6"]) == 1
