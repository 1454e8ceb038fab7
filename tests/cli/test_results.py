"""`neurosafe results RUNS`: a folder with two studies and a score run lists all of them (table and JSON)
and writes one leaderboard page; the page renders in the real browser."""

import json
import shutil

import pytest
from typer.testing import CliRunner

from neurosafe.cli import app
from neurosafe.study import load_results

runner = CliRunner()


@pytest.fixture(scope="module")
def runs(tiny_study, tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    for name in ("first", "second"):
        shutil.copytree(tiny_study.folder, root / name, ignore=shutil.ignore_patterns("cache"))
    (root / "score").mkdir()
    (root / "score" / "scores.json").write_text(json.dumps({
        "model": "cnn_small", "data": "v1.nc", "metric": "ridge", "committed_site": "relu2",
        "committed": {"value": 0.4, "higher_is_better": True},
        "sites": [{"site": "relu1", "value": 0.3, "ci_low": 0.2, "ci_high": 0.35},
                  {"site": "relu2", "value": 0.4, "ci_low": 0.33, "ci_high": 0.47}]}))
    return root


def test_results_lists_both_studies_and_the_score_run(runs):
    res = runner.invoke(app, ["results", str(runs), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["runs"] == ["first", "score", "second"]
    study = load_results(runs / "first")
    conditions = study["conditions"]
    first = [r for r in data["rows"] if r["run"] == "first" and r["kind"] == "study"]
    assert {(r["metric"], r["condition"]) for r in first} == {
        (m, c) for m in ("clean_accuracy", "pgd_accuracy_mean", "corruption_accuracy", "ece", "rsa", "ridge")
        for c in conditions}
    clean = next(r for r in first if r["metric"] == "clean_accuracy" and r["condition"] == "brain")
    assert clean["value"] == study.score("clean_accuracy", "brain").value
    assert [r["value"] for r in data["rows"] if r["run"] == "score"] == [0.3, 0.4]
    table = runner.invoke(app, ["results", str(runs)])
    assert table.exit_code == 0 and "first" in table.stdout and "second" in table.stdout


def test_missing_runs_folder_is_one_line(tmp_path):
    res = runner.invoke(app, ["results", str(tmp_path / "nope")])
    assert res.exit_code == 2 and res.output.strip().startswith("error: no runs folder")
    assert len(res.output.strip().splitlines()) == 1


def test_leaderboard_page_in_chromium(runs, tmp_path):
    from playwright.sync_api import sync_playwright

    from tests.report.test_browser import FLAGS

    res = runner.invoke(app, ["results", str(runs), "--html", "--out", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    page_path = tmp_path / "leaderboard.html"
    assert json.loads(res.stdout)["leaderboard"] == str(page_path.resolve())
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium is not installed; `bash scripts/setup.sh dev` installs Debian's chromium")
    errors = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=FLAGS)
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(page_path.as_uri())
        page.wait_for_load_state("load")
        headings = page.eval_on_selector_all("h2", "els => els.map(e => e.textContent)")
        cells = page.eval_on_selector_all("td", "els => els.map(e => e.textContent)")
        page.screenshot(path=str(tmp_path / "leaderboard.png"), full_page=True)
        browser.close()
    assert errors == []
    assert any(h.startswith("clean accuracy (higher is better") for h in headings)
    assert any(h.startswith("ECE (lower is better") for h in headings)
    assert "first" in cells and "second" in cells and "score" in cells
    assert (tmp_path / "leaderboard.png").stat().st_size > 10_000
