"""The study report answers the question: bottom line first (one sentence per safety term, sign, CI, controls),
twin quality with a warning when too low, the brain named, a glossary, robust accuracy without epsilon 0,
seed spread of every headline metric, one effects panel per scale, CIs on the alignment figure, group-readable
files, a schema version."""

import json
import shutil
import stat

import numpy as np
import pytest

from neurosafe.metrics import Score
from neurosafe.report import bottom_line, write_study_report
from neurosafe.report import study as report_study
from neurosafe.study import ScoreRecord, StudyResults, load_results


def _score(value, ci, hib=True):
    return Score(value=value, ci=ci, higher_is_better=hib)


def _planted(effects: dict[str, dict[str, tuple]]) -> StudyResults:
    """Baseline scores plus brain-minus-comparison effects {metric: {versus: (value, ci)}}."""
    hib = {"ece": False}
    scores = [ScoreRecord(m, "baseline", _score(0.5, (0.4, 0.6), hib.get(m, True)),
                          site="relu1" if m == "rsa" else None)
              for m in ("pgd_accuracy_mean", "corruption_accuracy", "ece", "rsa", "clean_accuracy")]
    eff = [ScoreRecord(m, "brain", _score(v, ci, hib.get(m, True)), site="relu1" if m == "rsa" else None, versus=c)
           for m, by in effects.items() for c, (v, ci) in by.items()]
    return StudyResults(scores, eff, {"regularized_site": "relu1"})


def test_bottom_line_sign_ci_and_controls():
    up, flat, down = (0.1, (0.05, 0.15)), (0.01, (-0.02, 0.04)), (-0.1, (-0.15, -0.05))
    results = _planted({
        "pgd_accuracy_mean": {"baseline": up, "shuffled": up, "matched": up},  # credited
        "corruption_accuracy": {"baseline": up, "shuffled": flat, "matched": up},  # not beyond controls
        "ece": {"baseline": down, "shuffled": down},  # lower ECE is better
        "rsa": {"baseline": flat},
        "clean_accuracy": {"baseline": down},
    })
    lines = bottom_line(results)
    assert len(lines) == 5
    pgd, corr, ece, rsa, clean = lines
    assert pgd.startswith("Robustness:") and "+0.100 [+0.050, +0.150]" in pgd and "credited to brain data" in pgd
    assert "not beyond the controls" in corr and "shuffled +0.010 [-0.020, +0.040]" in corr
    assert "improved ECE" in ece
    assert "no detectable effect" in rsa
    assert "worse" in clean and "robustness gain bought" not in " ".join(lines)


def test_report_sections_glossary_brain_and_file_modes(tiny_study):
    html = (tiny_study.folder / "report.html").read_text()
    assert html.index("<h2>Bottom line</h2>") < html.index("<h2>Question</h2>")
    assert "synthetic V1 brain" in html and "<h2>Glossary</h2>" in html and "<h2>Twin quality</h2>" in html
    for term in ("clean accuracy:", "robust accuracy (PGD):", "ECE:", "RSA:", "ridge predictivity:", "FEVE:"):
        assert term in html
    for name in ("report.html", "results.json", "effects.png"):
        assert stat.S_IMODE((tiny_study.folder / name).stat().st_mode) & 0o044 == 0o044  # group and others read
    raw = json.loads((tiny_study.folder / "results.json").read_text())
    assert raw["schema"] == "neurosafe.study.results/1" and raw["brain"].startswith("synthetic V1 brain")


@pytest.mark.parametrize(("feve", "warned"), [(0.0075, True), (0.6, False)])
def test_twin_quality_warning(tiny_study, feve, warned):
    results = load_results(tiny_study.folder)
    results.info["targets"] = {**results["targets"], "source": "twin", "test_feve": feve,
                               "test_fraction_of_ceiling": feve}
    text = " ".join(report_study.twin_quality(results))
    assert f"FEVE {feve:.3f}" in text
    assert ("too low to trust" in text) is warned


def test_robust_accuracy_excludes_epsilon_zero_and_seed_table_has_every_headline(tiny_study):
    results = load_results(tiny_study.folder)
    eps = [e for e in results["config"]["evaluation"]["pgd_eps"] if e > 0]
    assert 0.0 in results["config"]["evaluation"]["pgd_eps"]
    for c in results["conditions"]:
        per_eps = [results.score("pgd_accuracy", c, eps=e, training_seed=0).value for e in eps]
        assert results.score("pgd_accuracy_mean", c, training_seed=0).value == pytest.approx(np.mean(per_eps))
    html = (tiny_study.folder / "report.html").read_text()
    seed_table = html[html.index("Spread over training seeds"):html.index("<h2>Glossary</h2>")]
    for label in ("robust accuracy (PGD", "corruption accuracy", "ECE", "clean accuracy"):
        assert label in seed_table


def test_effects_one_panel_per_scale_and_alignment_has_cis(tiny_study, tmp_path, monkeypatch):
    figures = {}
    monkeypatch.setattr(report_study, "save_figure", lambda fig, path: figures.setdefault(path.name, fig) and path)
    shutil.copy(tiny_study.folder / "results.json", tmp_path / "results.json")
    write_study_report(tmp_path)
    titles = [ax.get_title() for ax in figures["effects.png"].axes]
    assert titles == ["accuracy (higher is better)", "ECE (lower is better)", "RSA (higher: more brain-like)",
                      "ridge r (higher: more brain-like)"]
    assert all(ax.containers for ax in figures["alignment.png"].axes)  # error bars on both panels


def test_figures_are_redrawn_only_when_the_results_or_the_code_change(tiny_study, tmp_path, monkeypatch):
    """The report's figures are keyed by a hash of results.json (without this invocation's run record) and
    neurosafe's source: unchanged -> not redrawn (the page is still written); a changed number, a deleted
    figure or changed code -> redrawn."""
    drawn = []
    for name in ("_robustness_figure", "_alignment_figure", "_effects_figure"):
        real = getattr(report_study, name)
        monkeypatch.setattr(report_study, name, lambda *a, _r=real, _n=name, **k: drawn.append(_n) or _r(*a, **k))
    shutil.copy(tiny_study.folder / "results.json", tmp_path / "results.json")
    write_study_report(tmp_path)
    assert len(drawn) == 3
    raw = json.loads((tmp_path / "results.json").read_text())
    raw["run"]["wall_time_s"] += 7.0  # another invocation: not a change of what the figures show
    (tmp_path / "results.json").write_text(json.dumps(raw))
    (tmp_path / "report.html").unlink()
    write_study_report(tmp_path)
    assert len(drawn) == 3 and (tmp_path / "report.html").exists()
    raw["scores"][0]["score"]["value"] += 0.01  # a changed number
    (tmp_path / "results.json").write_text(json.dumps(raw))
    write_study_report(tmp_path)
    assert len(drawn) == 6
    (tmp_path / "alignment.png").unlink()
    write_study_report(tmp_path)
    assert len(drawn) == 9
    monkeypatch.setattr(report_study, "source_hash", lambda: "edited code")
    write_study_report(tmp_path)
    assert len(drawn) == 12
