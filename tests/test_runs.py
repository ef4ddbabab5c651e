"""Comparing and browsing runs (lsrl.runs) on real run folders: the tiny Huginn trained for two updates in `lsrl` and
`hrpo` mode (once per session: the `runs` fixture in conftest.py, which the run widgets' browser test in
tests/test_browser.py uses too), read back as metric curves, depth profiles, exported figures and sample views."""
import json, struct, sys
from pathlib import Path
import pytest
from lsrl.runs import (RunBrowser, RunComparison, comparison_figures, depth_figure, load_metrics, load_runs,
                       load_samples, metric_figure, metric_names, save_figures)


def jsonl(path: Path) -> list: return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def test_curves_are_the_logged_values_of_each_run(runs):
    lsrl, hrpo = runs
    data = load_runs(runs)
    assert list(data) == ["lsrl", "hrpo"]
    for metric in ("reward_mean", "accuracy", "kl", "beta"):
        fig = metric_figure(data, metric)
        assert [t.name for t in fig.data] == ["lsrl", "hrpo"]
        for t, run in zip(fig.data, runs):
            logged = jsonl(run / "metrics.jsonl")
            assert list(t.x) == [1, 2] and list(t.y) == [m[metric] for m in logged]
    # the mode's own metrics: per-depth scores only where the lsrl mode logged them, hidden ratios only for hrpo
    assert [t.name for t in metric_figure(data, "iqs_d4").data] == ["lsrl"]
    assert [t.name for t in metric_figure(data, "hidden_ratio_hrpo").data] == ["hrpo"]
    assert metric_names(data, ["ps_d*"]) == ["ps_d1", "ps_d2", "ps_d3", "ps_d4"]
    last = jsonl(lsrl / "metrics.jsonl")[-1]
    prof = depth_figure(data, "ps")
    assert list(prof.data[0].x) == [1, 2, 3, 4] and list(prof.data[0].y) == [last[f"ps_d{k}"] for k in range(1, 5)]
    figs = comparison_figures(data)
    assert {"reward_mean", "accuracy", "kl", "beta", "iqs_d1", "ps_d4", "hidden_ratio_hrpo", "iqs_by_depth",
            "ps_by_depth"} <= set(figs)
    assert not any(n.startswith("time_") for n in figs)


def test_a_run_that_is_still_writing_and_a_resumed_update(runs, tmp_path):
    live = tmp_path / "live"
    live.mkdir()
    rows = jsonl(runs[0] / "metrics.jsonl")
    (live / "metrics.jsonl").write_text(json.dumps(rows[0]) + "\n" + json.dumps(rows[1])[:40])   # half a line
    rc = RunComparison([live, runs[1]])
    assert list(rc.plot.data[0].x) == [1]
    with open(live / "metrics.jsonl", "w") as f:   # update 2 done, then update 2 again after a resume
        for r in (rows[0], rows[1], dict(rows[1], reward_mean=-7.0)): f.write(json.dumps(r) + "\n")
    rc.reload()
    assert list(rc.plot.data[0].x) == [1, 2] and rc.plot.data[0].y[-1] == -7.0
    (live / "metrics.jsonl").write_text(json.dumps(rows[0]) + "\n{oops\n" + json.dumps(rows[1]) + "\n")
    with pytest.raises(ValueError, match="line 2: not valid JSON"): load_metrics(live)
    with pytest.raises(FileNotFoundError, match="has no metrics.jsonl"): RunComparison([tmp_path])


def test_html_export_needs_no_kaleido_and_images_name_it(runs, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "kaleido", None)   # as if it were not installed
    rc = RunComparison(runs)
    with pytest.raises(ImportError, match="pip install kaleido"): rc.export_figures(tmp_path / "img", ["html", "png"])
    assert not (tmp_path / "img").exists()               # refused before anything was written
    written = rc.export_figures(tmp_path / "html", ["html"])
    assert {p.name for p in written} == {f"{n}.html" for n in rc.figures()}
    page = (tmp_path / "html" / "iqs_by_depth.html").read_text()
    assert 'src="plotly.min.js"' in page and "IQS by depth" in page
    assert (tmp_path / "html" / "plotly.min.js").stat().st_size > 1_000_000   # plotly.js itself, offline
    rc.export_dir.value = str(tmp_path / "button")
    rc.export_button.click()                             # all three formats ticked: the error shows in the widget
    assert "export failed" in rc.status.value and "kaleido" in rc.status.value


def test_png_and_svg_export_with_kaleido(runs, tmp_path):
    pytest.importorskip("kaleido")
    data = load_runs(runs)
    figs = {"reward": metric_figure(data, "reward_mean"), "iqs by depth": depth_figure(data)}
    written = save_figures(figs, tmp_path, formats=("png", "svg"))
    assert sorted(p.name for p in written) == ["iqs_by_depth.png", "iqs_by_depth.svg", "reward.png", "reward.svg"]
    png = (tmp_path / "reward.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert width >= 300 and height >= 200
    svg = (tmp_path / "iqs_by_depth.svg").read_text()
    assert svg.lstrip().startswith("<svg") and "IQS by depth" in svg and "lsrl" in svg


def test_browser_walks_update_prompt_sample_and_opens_the_explorer(runs):
    lsrl, hrpo = runs
    logged = {r["update"]: r["samples"] for r in jsonl(lsrl / "samples.jsonl")}
    rb = RunBrowser(lsrl)
    assert [v for _, v in rb.update.options] == [1, 2] and rb.update.value == 2
    rb.update.value = 1
    assert [v for _, v in rb.prompt.options] == [logged[1][0]["problem"]]
    assert len(rb.sample.options) == 2
    rb.sample.value = 1
    chosen = logged[1][1]
    assert rb.selected == chosen == load_samples(lsrl)[1][1]
    assert f"{chosen['reward']:.3f}" in rb.view.value and rb.view.value.count("<tr>") == 1 + 4
    assert not rb.open_button.disabled
    rb.open_button.click()
    ex = rb.explorer
    assert ex is not None and ex.data["texts"] == [s["text"] for s in chosen["snapshots"]]
    assert ex.data["ps"] == [s["ps"] for s in chosen["snapshots"]] and ex.slider.max == 4
    hb = RunBrowser(hrpo)
    assert hb.open_button.disabled and "hidden_ratio_think" in hb.view.value
    with pytest.raises(ValueError, match="no per-depth snapshots"): hb.open_explorer()
