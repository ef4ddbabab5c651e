"""report_to: TensorBoard and trackio (local, offline) get the same metrics and the samples table, runs resume into
the same tracker run, secrets never reach the run folder or a tracker, and bad names say what to install."""
import atexit, importlib.util, json, os, shutil, tempfile, uuid
import pytest
if "TRACKIO_DIR" not in os.environ:   # trackio reads it on import: keep the tests' databases out of the home folder
    os.environ["TRACKIO_DIR"] = tempfile.mkdtemp(prefix="lsrl-trackio-")
    atexit.register(shutil.rmtree, os.environ["TRACKIO_DIR"], True)
from lsrl.config import ConfigError
from lsrl.trainer import SAMPLE_COLUMNS, TRACKER_EXTRAS, Trainer, TrainConfig

TINY = dict(model="tiny-random", mode="outcome", num_steps=2, group_size=2, prompts_per_update=2, micro_batches=1,
            max_new_tokens=4, train_size=8, grader="symbolic", lr=1e-3, seed=3)


def trackio_logs(project, run):
    from trackio.sqlite_storage import SQLiteStorage
    return SQLiteStorage.get_logs(project, run), SQLiteStorage.get_project_db_path(project)


def test_trackio_and_tensorboard_log_the_same_metrics_and_samples_and_resume(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    project = f"lsrl-test-{uuid.uuid4().hex[:8]}"
    cfg = TrainConfig(**TINY, updates=1, report_to="tensorboard,trackio", project=project)
    Trainer(cfg, tmp_path / "run").train()
    Trainer(cfg.replace(updates=2), tmp_path / "run").train()       # resumes: the same trackio run goes on
    metrics = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    logs, db = trackio_logs(project, "run")
    try:
        scalars = [r for r in logs if "loss" in r]
        assert [r["step"] for r in scalars] == [1, 2]
        for r, m in zip(scalars, metrics):
            assert r["loss"] == m["loss"] and r["reward_mean"] == m["reward_mean"] and r["kl"] == m["kl"]
        table = [r["samples"] for r in logs if "samples" in r][0]
        rows = table["_value"]
        assert list(rows[0]) == list(SAMPLE_COLUMNS) and len(rows) == TINY["group_size"] and rows[0]["update"] == 1
    finally:
        db.unlink(missing_ok=True)
    ev = EventAccumulator(str(tmp_path / "run" / "tb")).Reload()
    assert [(e.step, e.value) for e in ev.Scalars("reward_mean")] == [(i + 1, m["reward_mean"]) for i, m in
                                                                    enumerate(metrics)]


def test_secrets_reach_neither_the_run_folder_nor_the_tracker(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-SECRET-4711")
    project = f"lsrl-test-{uuid.uuid4().hex[:8]}"
    cfg = TrainConfig(**TINY, updates=1, report_to="tensorboard,trackio", project=project,
                      grader_base_url="https://me:sk-url-SECRET-0815@grader.example/v1?api_key=sk-url-SECRET-0815")
    assert "SECRET" not in repr(cfg)
    Trainer(cfg, tmp_path / "run").train()
    _, db = trackio_logs(project, "run")
    try:
        files = [p for p in (tmp_path / "run").rglob("*") if p.is_file()] + [db]
        assert len(files) > 5
        for p in files: assert b"SECRET" not in p.read_bytes(), p
    finally:
        db.unlink(missing_ok=True)
    assert "me:***@grader.example" in (tmp_path / "run" / "config.toml").read_text()


def test_report_to_names_say_what_to_install(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="unknown tracker 'mlflow'; use tensorboard, trackio, wandb or none"):
        TrainConfig(**TINY, report_to="tensorboard,mlflow")
    monkeypatch.setitem(TRACKER_EXTRAS, "lsrl_no_such_tracker", "lsrl[nosuch]")
    with pytest.raises(ConfigError, match=r"lsrl_no_such_tracker is not installed; pip install 'lsrl\[nosuch\]'"):
        TrainConfig(**TINY, report_to="lsrl_no_such_tracker")
    if importlib.util.find_spec("wandb") is None:
        with pytest.raises(ConfigError, match=r"pip install 'lsrl\[wandb\]'"): TrainConfig(**TINY, report_to="wandb")
    tr = Trainer(TrainConfig.from_dict(dict(TINY, updates=1, report_to="none")), tmp_path)   # --set report_to=none
    tr.train()
    assert not (tmp_path / "tb").exists() and (tmp_path / "metrics.jsonl").exists()
