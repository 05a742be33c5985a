"""gradcourse.integrations.lightning.TrackerCallback: a tiny LightningModule on CPU."""

import math
import warnings

import lightning.pytorch as pl
import pytest
import torch
from _helpers import hook_count
from lightning.pytorch.loggers import Logger
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from gradcourse.diagnosis import Report
from gradcourse.integrations.lightning import TrackerCallback
from gradcourse.integrations.tensorboard import stat_tags


class Module(pl.LightningModule):
    """Linear-Tanh-Linear-ReLU and a head; ``training_step`` calls ``self(x)`` unless
    ``via_net`` (then it calls ``self.net`` directly)."""

    def __init__(self, optimizer="sgd", fail_at=None, via_net=False, net=None):
        super().__init__()
        torch.manual_seed(0)
        self.net = net or nn.Sequential(nn.Linear(16, 32), nn.Tanh(), nn.Linear(32, 32), nn.ReLU(),
                                        nn.Linear(32, 4))
        self.optimizer, self.fail_at, self.via_net = optimizer, fail_at, via_net

    def forward(self, x):
        return self.net(x)

    def training_step(self, batch, batch_idx):
        if batch_idx == self.fail_at:
            raise RuntimeError("boom")
        x, y = batch
        loss = F.cross_entropy(self.net(x) if self.via_net else self(x), y)
        self.log("train_loss", loss)
        return loss

    def configure_optimizers(self):
        if self.optimizer == "adam":
            return torch.optim.Adam(self.parameters(), lr=1e-2)
        return torch.optim.SGD(self.parameters(), lr=0.1)


class Capture(Logger):
    """Keeps every ``log_metrics`` call."""

    def __init__(self):
        super().__init__()
        self.rows = []

    @property
    def name(self):
        return "capture"

    @property
    def version(self):
        return 0

    def log_metrics(self, metrics, step):
        self.rows.append((step, dict(metrics)))

    def log_hyperparams(self, params, *args, **kwargs):
        pass


class Probe(pl.Callback):
    """What the weights and gradients are around the optimizer step, measured directly."""

    def __init__(self):
        self.before, self.rows = {}, []

    def on_before_optimizer_step(self, trainer, pl_module, optimizer):
        linears = [m for m in pl_module.net if isinstance(m, nn.Linear)][:2]  # the tracked ones
        self.before = {"w": [m.weight.detach().clone() for m in linears],
                       "norm": math.sqrt(sum(m.weight.grad.double().square().sum().item()
                                             for m in linears))}

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        linears = [m for m in pl_module.net if isinstance(m, nn.Linear)][:2]
        w0 = [w.double() for w in self.before["w"]]
        self.rows.append({
            "unclipped_norm": self.before["norm"],
            "grad_data_ratio": [m.weight.grad.double().std().item() / w.std().item()
                                for m, w in zip(linears, w0, strict=True)],
            "update_ratio": [(m.weight.detach().double() - w).std().item() / w.std().item()
                             for m, w in zip(linears, w0, strict=True)]})


def fit(module, callbacks, steps=4, **trainer_kwargs):
    gen = torch.Generator().manual_seed(1)
    X, y = torch.randn(256, 16, generator=gen), torch.randint(0, 4, (256,), generator=gen)
    trainer = pl.Trainer(max_steps=steps, accelerator="cpu", devices=1, callbacks=callbacks,
                         enable_progress_bar=False, enable_checkpointing=False,
                         enable_model_summary=False, num_sanity_val_steps=0,
                         log_every_n_steps=1, **trainer_kwargs)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*(num_workers|LitLogger|litlogger|Tensorboard|LeafSpec).*")
        trainer.fit(module, DataLoader(TensorDataset(X, y), batch_size=32))
    return trainer


@pytest.fixture
def root(tmp_path):
    return {"default_root_dir": tmp_path, "logger": Capture()}


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_records_after_clipping(root, optimizer):
    callback, probe = TrackerCallback(), Probe()
    fit(Module(optimizer), [callback, probe], gradient_clip_val=1e-3, **root)
    steps = [[r for r in callback.tracker.history if r["step"] == s] for s in (1, 2, 3, 4)]
    assert [len(s) for s in steps] == [2, 2, 2, 2]
    for records, seen in zip(steps, probe.rows, strict=True):
        norm = math.sqrt(sum(r["weight_grad_norm"] ** 2 for r in records))
        assert norm <= 1e-3 * (1 + 1e-6)  # the tracked weights' share of the clipped norm
        assert seen["unclipped_norm"] > 10 * norm  # what on_before_optimizer_step sees
        # the gradient the optimizer applied and the update it made, over W before the step
        assert [r["grad_data_ratio"] for r in records] == pytest.approx(seen["grad_data_ratio"], rel=1e-6)
        # (ΔW = W_after - W_before in float32 is rounded by ~1e-4 of itself: updates are
        # 1e-5 of the weights; with the unclipped gradient the ratio would be 10x larger)
        assert [r["update_ratio"] for r in records] == pytest.approx(seen["update_ratio"], rel=1e-3)


def test_logs_through_the_trainers_logger(root):
    callback = TrackerCallback(every=2)
    fit(Module(), [callback], steps=5, **root)
    rows = root["logger"].rows
    ours = [(x, m) for x, m in rows if any(k.startswith("gradcourse/") for k in m)]
    theirs = [x for x, m in rows if "train_loss" in m]
    assert theirs == [0, 1, 2, 3, 4]  # Lightning's self.log x-axis
    assert [x for x, _ in ours] == [0, 2, 4]  # tracker steps 1, 3, 5 at the same x
    assert sorted({r["step"] for r in callback.tracker.history}) == [1, 3, 5]
    for (_, metrics), step in zip(ours, (1, 3, 5), strict=True):
        records = [r for r in callback.tracker.history if r["step"] == step]
        assert metrics == {k: v for r in records for k, v in stat_tags(r).items()}
        assert "gradcourse/grad_std/layer_1" in metrics and "gradcourse/dead_frac/layer_2" in metrics


def test_detaches_on_fit_end_and_on_exception(root):
    module, callback = Module(), TrackerCallback()
    before = hook_count(module)
    trainer = fit(module, [callback], **root)
    assert hook_count(module) == before and not callback.tracker.attached
    assert not trainer.optimizers[0]._optimizer_step_pre_hooks
    failing, callback = Module(fail_at=2), TrackerCallback()
    with pytest.raises(RuntimeError, match="boom"):
        fit(failing, [callback], **root)
    assert hook_count(failing) == before and not callback.tracker.attached
    assert sorted({r["step"] for r in callback.tracker.history}) == [1, 2]
    assert callback.report is None


def test_report_at_the_end(root):
    # 8 sigmoid layers with PyTorch's default init: the gradient vanishes toward the input
    layers = [m for _ in range(8) for m in (nn.Linear(32, 32), nn.Sigmoid())]
    net = nn.Sequential(nn.Linear(16, 32), nn.Sigmoid(), *layers[2:], nn.Linear(32, 4))
    callback = TrackerCallback(lang="en")
    fit(Module(net=net), [callback], steps=2, **root)
    assert isinstance(callback.report, Report) and "vanishing" in callback.report.kinds()
    assert str(callback.report) == str(Report.from_tracker(callback.tracker, "en"))
    (verdict,) = [v for v in callback.report.verdicts if v.kind == "vanishing"]
    assert verdict.evidence < 1e-4  # grad_std[1] / grad_std[8], the threshold is 1e-2


def test_submodule(root):
    with pytest.raises(RuntimeError, match=r"module='net'"):
        fit(Module(via_net=True), [TrackerCallback()], steps=1, **root)
    callback = TrackerCallback(module="net")
    fit(Module(via_net=True), [callback], steps=2, **root)
    assert [r["name"] for r in callback.tracker.summary()] == ["0", "2"]
    assert all(r["act_std"] > 0 for r in callback.tracker.history)


def test_gradient_accumulation(root):
    callback = TrackerCallback()
    trainer = fit(Module(), [callback], steps=2, accumulate_grad_batches=3, **root)
    assert trainer.global_step == 2
    assert sorted({r["step"] for r in callback.tracker.history}) == [1, 2]
    assert callback.tracker.passes == 3 and callback.tracker.examples == 96  # 3 micro-batches


def test_bad_arguments():
    with pytest.raises(ValueError, match="optimizer="):
        TrackerCallback(optimizer=None)
    with pytest.raises(ValueError, match="lang"):
        TrackerCallback(lang="fr")
