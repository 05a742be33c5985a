"""The default language of labels, numbers and reports: gc.set_language / GRADCOURSE_LANG."""

import pytest
import torch

import gradcourse as gc
from gradcourse import plots


@pytest.fixture(autouse=True)
def _restore(monkeypatch):
    monkeypatch.delenv("GRADCOURSE_LANG", raising=False)
    yield
    gc.set_language(None)


def test_spanish_unless_told():
    assert gc.get_language() == "es"
    assert plots.number(0.5, ".2f") == "0,50"


def test_environment_variable(monkeypatch):
    monkeypatch.setenv("GRADCOURSE_LANG", "en")
    assert gc.get_language() == "en"
    assert plots.number(13800, ".0f") == "13,800"
    assert plots.number_range(2, 5, ".0f", "%") == "between 2% and 5%"
    assert plots.number_range(84, 84, ".0f", "%") == "84%"


def test_set_language_wins_and_returns_previous(monkeypatch):
    monkeypatch.setenv("GRADCOURSE_LANG", "en")
    assert gc.set_language("es") == "en"
    assert plots.number(0.5, ".1f") == "0,5"
    assert gc.set_language(None) == "es"
    assert gc.get_language() == "en"


def test_explicit_lang_beats_the_default():
    gc.set_language("en")
    assert plots.number(0.5, ".1f", lang="es") == "0,5"


def test_unknown_language_is_loud(monkeypatch):
    with pytest.raises(ValueError, match="lang must be one of"):
        gc.set_language("fr")
    monkeypatch.setenv("GRADCOURSE_LANG", "de")
    with pytest.raises(ValueError, match="GRADCOURSE_LANG"):
        plots.number(1.0)


def test_figures_and_reports_follow_the_default():
    model = gc.MLP(8, 3, depth=3, width=16, activation="sigmoid", init="glorot_standard", seed=0)
    X, y = torch.randn(64, 8), torch.randint(0, 3, (64,))
    spanish = gc.diagnose(model, X, y)
    gc.set_language("en")
    english = gc.diagnose(model, X, y)
    assert (spanish.lang, english.lang) == ("es", "en")
    assert [v.kind for v in spanish.verdicts] == [v.kind for v in english.verdicts]
    assert str(spanish) != str(english)
    fig, ax = plots.plt.subplots()
    plots.layer_axis(ax)
    assert ax.get_xlabel() == plots._L["en"]["layer"] != plots._L["es"]["layer"]
    ax.plot([0.5, 1.5], [0.25, 0.75])
    plots.spanish_axes(ax)  # English keeps the decimal point
    fig.canvas.draw()
    assert any("." in t.get_text() for t in ax.get_yticklabels())
    plots.plt.close(fig)
