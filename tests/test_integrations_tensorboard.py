"""gradcourse.integrations.tensorboard: the event files read back equal the tracker's history."""

import math
import sys

import pytest
import torch
from _helpers import batch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.util import tensor_util
from torch import nn
from torch.utils.tensorboard import SummaryWriter

import gradcourse as gc
from gradcourse.integrations import tensorboard as gtb


class Net(nn.Module):
    """A practitioner's model: one activation of each family, an output head."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(32, 24), nn.Linear(24, 24), nn.Linear(24, 16)
        self.relu, self.tanh, self.sig = nn.ReLU(), nn.Tanh(), nn.Sigmoid()
        self.head = nn.Linear(16, 5)

    def forward(self, x):
        return self.head(self.sig(self.fc3(self.tanh(self.fc2(self.relu(self.fc1(x)))))))


def train(steps=5, every=1, histograms=False, tensorboard=None, check=None):
    torch.manual_seed(0)
    model = Net()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    X, y = batch()
    with gc.Tracker(model, every=every, histograms=histograms, tensorboard=tensorboard) as tracker:
        for step in range(1, steps + 1):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(X), y)
            loss.backward()
            tracker.before_step()
            opt.step()
            tracker.step(loss)
            if step == 2 and check is not None:
                check(tracker)
    return tracker


def read(log_dir):
    """``{tag: {step: value}}`` of the scalars, ``{tag: [events]}`` of the histograms."""
    acc = EventAccumulator(str(log_dir), size_guidance={"tensors": 0, "histograms": 0})
    acc.Reload()
    tags = acc.Tags()
    scalars = {t: {e.step: tensor_util.make_ndarray(e.tensor_proto).item() for e in acc.Tensors(t)}
               for t in tags["tensors"] if not t.endswith("text_summary")}
    return scalars, {t: acc.Histograms(t) for t in tags["histograms"]}, acc


def test_scalars_equal_history(tmp_path):
    tracker = train(steps=5, every=2)
    assert gtb.to_tensorboard(tracker, tmp_path) == str(tmp_path)
    scalars, hists, _ = read(tmp_path)
    assert not hists  # the tracker kept none
    expected = {}
    for r in tracker.history:
        for stat, value in r.items():
            if isinstance(value, float):
                expected.setdefault(f"gradcourse/{stat}/layer_{r['layer']}", {})[r["step"]] = value
    assert set(scalars) == set(expected)
    assert scalars == expected  # float64 both ways: equal, not close
    assert {step for s in scalars.values() for step in s} == {1, 3, 5}  # the tracker's steps
    # the statistics that do not apply to a layer are not written
    assert "gradcourse/dead_frac/layer_2" not in scalars  # tanh
    assert "gradcourse/saturated_frac/layer_1" not in scalars  # relu
    assert {"gradcourse/grad_std/layer_1", "gradcourse/update_ratio/layer_3",
            "gradcourse/saturated_frac/layer_3", "gradcourse/dead_frac/layer_1"} <= set(scalars)


def test_layers_text(tmp_path):
    tracker = train(steps=1)
    gtb.to_tensorboard(tracker, tmp_path)
    _, _, acc = read(tmp_path)
    text = acc.Tensors("gradcourse/layers/text_summary")[0].tensor_proto.string_val[0].decode()
    assert "| layer_1 | fc1 | relu |" in text and "| layer_3 | fc3 | sigmoid |" in text


def test_histograms(tmp_path):
    tracker = train(steps=2, histograms=8)
    gtb.to_tensorboard(tracker, tmp_path)
    _, hists, _ = read(tmp_path)
    assert set(hists) == {f"gradcourse/{kind}/layer_{k}" for kind in ("activation", "gradient")
                          for k in (1, 2, 3)}
    for h in tracker.histograms:
        (event,) = [e for e in hists[f"gradcourse/{h['kind']}/layer_{h['layer']}"]
                    if e.step == h["step"]]
        value = event.histogram_value
        assert list(value.bucket) == h["counts"]
        assert list(value.bucket_limit) == pytest.approx(h["edges"][1:], rel=1e-12)
        assert value.min == h["edges"][0] and value.num == sum(h["counts"])


def test_histograms_off_or_missing(tmp_path):
    gtb.to_tensorboard(train(steps=1, histograms=4), tmp_path / "off", histograms=False)
    assert not read(tmp_path / "off")[1]
    with pytest.raises(ValueError, match=r"histograms=True"):
        gtb.to_tensorboard(train(steps=1), tmp_path / "none", histograms=True)


def test_own_writer_stays_open(tmp_path):
    tracker = train(steps=2)
    with SummaryWriter(log_dir=str(tmp_path)) as writer:
        assert gtb.to_tensorboard(tracker, writer) == str(tmp_path)
        writer.add_scalar("loss", 1.5, 2)  # still open: the practitioner's own scalars
    scalars, _, acc = read(tmp_path)
    assert scalars["gradcourse/grad_std/layer_1"][2] == tracker.history[3]["grad_std"]
    assert [e.value for e in acc.Scalars("loss")] == [1.5]


def test_empty_tracker(tmp_path):
    with pytest.raises(ValueError, match="recorded no step"):
        gtb.to_tensorboard(gc.Tracker(Net()), tmp_path)
    assert not list(tmp_path.iterdir())  # checked before any file is made


def test_closed_writer(tmp_path):
    writer = SummaryWriter(log_dir=str(tmp_path))
    writer.close()
    with pytest.raises(ValueError, match="SummaryWriter is closed"):
        gtb.to_tensorboard(train(steps=1), writer)


def test_wrong_type():
    with pytest.raises(TypeError, match="log_dir_or_writer"):
        gtb.to_tensorboard(train(steps=1), 3)


def test_tensorboard_missing(monkeypatch, tmp_path):
    for name in [m for m in sys.modules if m.startswith(("tensorboard", "torch.utils.tensorboard"))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # import tensorboard -> ImportError
    with pytest.raises(ImportError, match=r'pip install -e "\.\[tensorboard\]"'):
        gtb.to_tensorboard(train(steps=1), tmp_path)


def test_stat_tags():
    record = {"step": 3, "layer": 2, "name": "fc2", "act_kind": "tanh", "act_std": 0.5,
              "dead_frac": None, "grad_std": math.nan, "nonfinite_forward": True}
    tags = gtb.stat_tags(record)
    assert tags.keys() == {"gradcourse/act_std/layer_2", "gradcourse/grad_std/layer_2"}
    assert math.isnan(tags["gradcourse/grad_std/layer_2"])


def live(log_dir_or_writer, steps=4, every=1, histograms=False, check=None):
    """Train with ``Tracker(model, tensorboard=...)``; ``check(tracker)`` runs after step 2."""
    return train(steps, every, histograms, tensorboard=log_dir_or_writer, check=check)


def _by_tag(history):
    out = {}
    for r in history:
        for stat, value in r.items():
            if isinstance(value, float):
                out.setdefault(f"gradcourse/{stat}/layer_{r['layer']}", {})[r["step"]] = value
    return out


def test_live_equals_history(tmp_path):
    seen = {}

    def check(tracker):  # written while training runs: flushed at each recorded step
        seen.update(read(tmp_path)[0])
        assert seen == _by_tag(tracker.history)

    tracker = live(tmp_path, steps=5, every=2, check=check)
    assert {s for v in seen.values() for s in v} == {1}  # step 1 only, after step 2
    scalars, hists, acc = read(tmp_path)
    assert scalars == _by_tag(tracker.history)  # float64 both ways: equal
    assert {s for v in scalars.values() for s in v} == {1, 3, 5}
    assert not hists and tracker.tensorboard.writer is None  # closed on leaving the block
    text = acc.Tensors("gradcourse/layers/text_summary")[0].tensor_proto.string_val[0].decode()
    assert "| layer_2 | fc2 | tanh |" in text


def test_live_histograms(tmp_path):
    tracker = live(tmp_path, steps=3, histograms=6)
    _, hists, _ = read(tmp_path)
    assert sum(len(v) for v in hists.values()) == len(tracker.histograms) == 3 * 3 * 2
    for h in tracker.histograms:
        (event,) = [e for e in hists[f"gradcourse/{h['kind']}/layer_{h['layer']}"]
                    if e.step == h["step"]]
        assert list(event.histogram_value.bucket) == h["counts"]


def test_live_attach_again_continues(tmp_path):
    tracker = live(tmp_path, steps=2)
    model, opt = tracker.model, torch.optim.SGD(tracker.model.parameters(), lr=0.1)
    X, y = batch()
    with tracker:  # a new event file in the same folder
        opt.zero_grad()
        nn.functional.cross_entropy(model(X), y).backward()
        opt.step()
        tracker.step()
    assert len(list(tmp_path.glob("events.out.tfevents.*"))) == 2
    assert read(tmp_path)[0] == _by_tag(tracker.history)
    assert {r["step"] for r in tracker.history} == {1, 2, 3}


def test_live_own_writer(tmp_path):
    with SummaryWriter(log_dir=str(tmp_path)) as writer:
        tracker = live(writer, steps=2)
        assert tracker.tensorboard.writer is writer  # left open: the caller's
        writer.add_scalar("loss", 0.5, 2)
    scalars, _, acc = read(tmp_path)
    assert scalars == _by_tag(tracker.history)
    assert [e.value for e in acc.Scalars("loss")] == [0.5]


def test_live_writer_closed(tmp_path):
    writer = SummaryWriter(log_dir=str(tmp_path))
    writer.close()
    with pytest.raises(ValueError, match="SummaryWriter is closed"):
        gc.Tracker(Net(), tensorboard=writer)
    writer = SummaryWriter(log_dir=str(tmp_path / "later"))
    with pytest.raises(ValueError, match="SummaryWriter is closed"):
        live(writer, steps=3, check=lambda tracker: writer.close())


def test_method_equals_function(tmp_path):
    tracker = train(steps=3, histograms=4)
    assert tracker.to_tensorboard(tmp_path / "method") == str(tmp_path / "method")
    gtb.to_tensorboard(tracker, tmp_path / "function")
    a, b = read(tmp_path / "method"), read(tmp_path / "function")
    assert a[0] == b[0] == _by_tag(tracker.history)
    assert set(a[1]) == set(b[1]) and len(a[1]) == 6
    with pytest.raises(ValueError, match="recorded no step"):
        gc.Tracker(Net()).to_tensorboard(tmp_path / "empty")


def test_live_tensorboard_missing(monkeypatch, tmp_path):
    for name in [m for m in sys.modules if m.startswith(("tensorboard", "torch.utils.tensorboard"))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # import tensorboard -> ImportError
    with pytest.raises(ImportError, match=r'pip install -e "\.\[tensorboard\]"'):
        gc.Tracker(Net(), tensorboard=tmp_path)
    with pytest.raises(ImportError, match=r'pip install -e "\.\[tensorboard\]"'):
        train(steps=1).to_tensorboard(tmp_path)
    assert not list(tmp_path.iterdir())
