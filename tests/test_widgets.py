"""The widgets' figures and forms as objects, without a browser: the score axis of the depth curves, the log-scale
switch, the PCA view without s0, the logit lens over chosen positions with its hover text, `from_sample` leaving out
what a saved sample cannot show, and the launcher's fields, ticks and charts. The real tiny Huginn throughout."""
import dataclasses, json, math
import pytest

from lsrl.models import load_tiny, tiny_problems
from lsrl.trainer import TrainConfig
from lsrl.widgets import SCORE_TICKS, DepthExplorer, TrainingLauncher, depth_data


@pytest.fixture(scope="module")
def explorer():
    model, tok = load_tiny()
    prob = tiny_problems(10)[9]
    return DepthExplorer(data=depth_data(model, tok, prob, num_steps=4, max_new_tokens=40)), prob


def test_score_axis_is_0_to_2_with_round_ticks_and_the_legend_off_the_axes(explorer):
    ex, _ = explorer
    y2 = ex.curves.layout.yaxis2
    assert y2.range[0] < 0 and 2 < y2.range[1] < 2.2           # a score of 2 is inside the frame, not on it
    assert y2.tickvals == SCORE_TICKS == (0, 0.5, 1, 1.5, 2) and y2.ticktext == ("0", "0.5", "1", "1.5", "2")
    assert y2.autorange is False
    legend = ex.curves.layout.legend
    assert legend.orientation == "h" and legend.y < 0           # under the plot, not over the right axis
    assert ex.curves.layout.xaxis.tickvals == (1, 2, 3, 4)


def test_log_scale_switch(explorer):
    ex, _ = explorer
    assert ex.curves.layout.yaxis.type == "linear"
    ex.log_scale.value = True
    assert ex.curves.layout.yaxis.type == "log"
    ex.set_log(False)
    assert (ex.curves.layout.yaxis.type, ex.log_scale.value) == ("linear", False)


def test_pca_without_s0_by_default_with_labelled_axes(explorer):
    ex, _ = explorer
    d = ex.data
    assert ex.pca.data[0].customdata == ("s1", "s2", "s3", "s4")
    var = d["pca_no_s0_var"]
    assert ex.pca.layout.xaxis.title.text == f"PC1 ({var[0]:.0%} of variance)"
    assert ex.pca.layout.yaxis.title.text == f"PC2 ({var[1]:.0%})"
    ex.with_s0.value = True
    assert ex.pca.data[0].customdata[0] == "s0" and len(ex.pca.data[0].x) == 5
    assert ex.pca.data[1].x == (d["pca"][ex.slider.value][0],)
    ex.with_s0.value = False
    assert ex.pca.data[1].x == (d["pca_no_s0"][ex.slider.value - 1][0],)
    # the fit differs: without s0 the first axis is no longer the s0 -> s1 jump
    assert d["pca_var"][0] != pytest.approx(var[0])


def test_logit_lens_positions_hover_and_depth_frame(explorer):
    ex, prob = explorer
    d = ex.data
    lo, hi = d["spans"]["question"]
    assert "".join(d["tokens"][lo:hi]).strip() == prob.question
    alo, ahi = d["spans"]["answer"]
    assert (alo, ahi) == (d["prompt_length"], len(d["tokens"])) and ex.span.value == (alo, ahi)
    ex.positions.value = "question"
    heat = ex.lens.data[0]
    assert ex.lens.layout.xaxis.tickvals == tuple(range(lo, hi)) and len(heat.z[0]) == hi - lo
    hover = heat.customdata[1][3]                               # depth 2, the question's 4th token
    token = d["tokens"][lo + 3]
    assert f"depth 2 · position {lo + 3}<br>input <b>{token}</b>" in hover
    assert hover.count(", ") == 4                               # the top-5 next tokens with their probabilities
    assert heat.textfont.size >= 11
    ex.show(2)
    frame = ex.lens.layout.shapes[0]
    assert (frame.y0, frame.y1, frame.x0, frame.x1) == (1.5, 2.5, lo - 0.5, hi - 0.5)
    ex.span.value = (2, 7)
    assert ex.positions.value == "range" and ex.lens.layout.xaxis.tickvals == (2, 3, 4, 5, 6)
    ex.set_positions("answer")
    assert ex.span.value == (alo, ahi) and ex.positions.value == "answer"
    with pytest.raises(ValueError, match="no 'nowhere' span"): ex.set_positions("nowhere")


def test_from_sample_hides_what_a_sample_cannot_show():
    import plotly.graph_objects as go
    sample = dict(question="What is 2 + 3?", gold="5",
                  snapshots=[dict(depth=1, text="6", iqs=0.5, ps=0.0), dict(depth=2, text="#### 5", iqs=2.0, ps=1.0)])
    ex = DepthExplorer.from_sample(sample)
    json.dumps(ex.data, allow_nan=False)                        # no NaN anywhere (no NaN warning in a kernel)
    json.dumps(ex.curves.to_plotly_json(), allow_nan=False)
    assert ex.lens is None and ex.pca is None
    assert [t.name for t in ex.curves.data] == ["IQS", "PS"] and ex.curves.layout.yaxis.tickvals == SCORE_TICKS
    figs = [w for w in ex.widget.children[3].children[0].children if isinstance(w, go.FigureWidget)]
    assert figs == [ex.curves] and ex.log_scale not in ex.widget.children[3].children[0].children
    ex.slider.value = 1
    assert "IQS 0.50" in ex.text.value and ex.curves.layout.shapes[0].x0 == 1
    bare = DepthExplorer.from_sample(dict(sample, snapshots=[dict(s, iqs=None, ps=None) for s in sample["snapshots"]]))
    assert bare.curves is None and bare.widget.children[3].children == ()


def test_launcher_fields_lr_and_keep_last():
    ui = TrainingLauncher("runs/unused")
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    assert {"data", "train_size", "seed"} <= set(ui.fields)
    assert ("keep_last" in ui.fields) == ("keep_last" in names)  # appears once TrainConfig has it
    assert set(ui.fields) <= names
    assert ui.fields["lr"].value == "2e-06"
    ui.fields["lr"].value = "3e-5"
    ui.fields["seed"].value, ui.fields["train_size"].value, ui.fields["data"].value = 7, 40, "synthetic"
    cfg = ui.config()
    assert (cfg.lr, cfg.seed, cfg.train_size, cfg.data) == (3e-5, 7, 40, "synthetic")
    ui.fields["lr"].value = "2e-6x"
    ui.start()
    assert ui.thread is None and "learning rate &#x27;2e-6x&#x27; is not a number" in ui.error.value
    assert ui.run_dir.layout.width == "100%"


def test_launcher_charts_integer_ticks_and_hidden_ratio_only_when_logged():
    from types import SimpleNamespace
    ui = TrainingLauncher("runs/unused", updates=3)
    assert ui.chart_grid.children == ()                         # nothing drawn before data arrives
    assert ui.chart_grid.layout.grid_template_columns == "repeat(2, 450px)"
    assert all(f.layout.width == 440 for f in (*ui.charts.values(), ui.depth_chart))   # two fit a notebook
    ax = ui.charts["reward_mean"].layout.xaxis
    assert (ax.tickmode, ax.dtick, ax.tickformat) == ("linear", 1, "d")
    fake = SimpleNamespace(stop_requested=False, cfg=SimpleNamespace(updates=3))
    m = dict(update=1, reward_mean=0.5, accuracy=0.5, kl=0.0, beta=0.1, time_total=1.0)
    ui._on_update(fake, m)
    assert ui.charts["hidden_ratio_think"] not in ui.chart_grid.children and len(ui.chart_grid.children) == 4
    ui._on_update(fake, dict(m, update=2, hidden_ratio_think=0.3))
    assert ui.charts["hidden_ratio_think"] in ui.chart_grid.children


def test_untouched_form_builds_its_trainer_with_the_defaults(tmp_path):
    "The form as it opens: its config is TrainConfig's defaults, and Start builds the Trainer on the default model."
    ui = TrainingLauncher(str(tmp_path / "run"))
    cfg = ui.config()
    assert dataclasses.asdict(cfg) == dataclasses.asdict(TrainConfig())
    ui.start()
    ui.stop()                                                   # before the first update: build, then stop
    ui.wait(300)
    assert "stopped at update 0/10" in ui.status.value, ui.status.value + ui.error.value
    assert not ui.error.value and not math.isnan(ui.progress.value)
