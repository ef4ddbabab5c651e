"""The `lsrl` command's errors: one or two lines that name the problem and the fix, exit status 2, no traceback
unless asked for, and nothing written to disk. In-process (`lsrl.cli.main`), so no Python start per case."""
import pytest

from lsrl.cli import main


def run(capsys, *argv):
    "(exit status, stderr lines) of `lsrl argv...`."
    try: rc = main(list(argv))
    except SystemExit as e: rc = e.code       # argparse's own errors
    return rc, capsys.readouterr().err.strip().splitlines()


@pytest.fixture
def here(tmp_path, monkeypatch):
    "An empty working folder, so that a default run folder (runs/train, runs/eval, runs/demo) would show up in it."
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LSRL_DEBUG", raising=False)
    return tmp_path


CASES = [
    (["train", "--set", "lrr=1"], "unknown key `lrr`: did you mean `lr`?"),
    (["train", "--set", "reward.gama=0.9"], "did you mean `reward.gamma`?"),
    (["train", "--set", "group_size=0"], "group_size=0: group-relative advantages need G >= 2"),
    (["train", "--set", "lr=abc"], "lr='abc': expected a number"),
    (["train", "--set", "data=/nonexistent.jsonl"], "data file /nonexistent.jsonl does not exist"),
    (["train", "--set", "model=tinyy"], "unknown model 'tinyy': did you mean `tiny`?"),
    (["train", "--config", "nope.toml"], "--config nope.toml: no such file"),
    (["train", "--data", "x"], "did you mean `--set data=x`?"),
    (["eval", "--model", "tinyy"], "unknown model 'tinyy': did you mean `tiny`?"),
    (["eval", "--depth", "0"], "argument --depth: the depth r must be >= 1, got 0"),
    (["eval", "--data", "gsm8k:/nonexistent.jsonl"], "/nonexistent.jsonl does not exist"),
    (["eval", "--data", "gsm8"], "did you mean `gsm8k`?"),
    (["demo", "--model", "tinyy"], "did you mean `tiny`?"),
    (["table3", "--set", "lrr=1"], "did you mean `lr`?"),
    (["table3", "--modes", "outcom"], "mode='outcom': use one of"),
    (["table3", "--seeds", "0,a"], "--seeds takes integers >= 0"),
    (["table3", "--set", "data=synthetic"], "table3 needs a task with a held-out split"),
    (["table3", "--depths", "0,8"], "expected depths >= 1"),
    (["table3", "--recipe", "sft"], "--recipe sft: use a mode's name"),
]


@pytest.mark.parametrize("argv,phrase", CASES, ids=[" ".join(a) for a, _ in CASES])
def test_error_is_short_and_writes_nothing(argv, phrase, here, capsys):
    rc, err = run(capsys, *argv)
    assert rc == 2 and 1 <= len(err) <= 2, err
    assert any(phrase in line for line in err), err
    assert not any("Traceback" in line for line in err)
    assert list(here.iterdir()) == []                     # no run folder, no report
    if argv in (["train", "--data", "x"], ["eval", "--depth", "0"]):   # argparse: the command's usage, not lsrl's
        assert err[0].startswith(f"usage: lsrl {argv[0]} ")


def test_existing_run_folder_is_left_alone(here, capsys):
    run_dir = here / "runs" / "train"
    run_dir.mkdir(parents=True)
    (run_dir / "config.toml").write_text('mode = "lsrl"\n')
    state = lambda: sorted((p.name, p.read_bytes(), p.stat().st_mtime_ns) for p in run_dir.iterdir())
    before = state()
    for argv in (["--set", "lr=abc"], ["--set", "model=tinyy", "--restart"], ["--set", "data=./gone.jsonl"]):
        assert run(capsys, "train", *argv)[0] == 2
    assert state() == before


def test_hub_id_offline_is_one_line(here, capsys, monkeypatch):
    import huggingface_hub.constants
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    rc, err = run(capsys, "eval", "--model", "nobody/no-such-model", "--limit", "1")
    assert rc == 2 and len(err) == 2 and "cannot load model 'nobody/no-such-model' from the hub" in err[0], err
    assert list(here.iterdir()) == []


def test_debug_shows_the_traceback(here, capsys, monkeypatch):
    rc, err = run(capsys, "train", "--set", "lrr=1", "--debug")
    assert rc == 2 and err[0].startswith("Traceback") and "ConfigError" in "\n".join(err)
    monkeypatch.setenv("LSRL_DEBUG", "1")
    rc, err = run(capsys, "eval", "--model", "tinyy")
    assert rc == 2 and err[0].startswith("Traceback") and err[-1].endswith("a hub id owner/name")
    assert list(here.iterdir()) == []


def test_train_help_lists_every_setting(capsys):
    from dataclasses import fields
    from lsrl.modes import MODE_DEFAULTS
    from lsrl.trainer import TrainConfig
    with pytest.raises(SystemExit) as e: main(["train", "--help"])
    out = capsys.readouterr().out
    assert e.value.code == 0 and "usage: lsrl train" in out
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ") and len(line.split()) > 3}
    for f in fields(TrainConfig):
        if f.name == "reward": continue
        assert f.name in rows, f"{f.name} missing from lsrl train --help"
        assert len(rows[f.name].split()) >= 4, f"{f.name} has no meaning in lsrl train --help: {rows[f.name]!r}"
    assert "reward.gamma" in rows
    lr = rows["lr"]
    assert f"outcome/lsrl {MODE_DEFAULTS['lsrl']['lr']}, hrpo {MODE_DEFAULTS['hrpo']['lr']}" in lr and "float" in lr
