"""Fitting people on planted participants (no human BToM judgements exist in ../shared/data): ratings are the
BToM predictions on eight small food-truck scenarios at a known beta plus noise; the grid fit recovers beta,
BToM beats its lesions, the split-half ceiling matches the noise level's closed form."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neurosafe.cognitive import load_scenario
from neurosafe.cognitive.errors import JudgementError
from neurosafe.cognitive.fitting import fit_people, load_judgements, model_predictions
from neurosafe.core.seeds import make_rng

SETTINGS = {"beta": 2.0, "desire_levels": [0.0, 5.0, 10.0], "belief_resolution": 4}
TRUE_BETA, NOISE, N_PEOPLE = 2.0, 0.6, 16


MAP = ["....", ".#..", "...."]  # A (K) seen from the start (0, 3); B hidden behind the wall
PATHS = {"direct": [[0, 2], [0, 1], [0, 0]], "check": [[1, 3], [2, 3], [2, 2], [2, 1], [2, 0]],
         "back": [[1, 3], [0, 3], [0, 2], [0, 1], [0, 0]]}


@pytest.fixture(scope="module")
def planted():
    scenarios = {}
    for truck in ("L", "M", None):
        for kind, path in PATHS.items():
            if kind != "check" or truck:
                name = f"{kind}-{truck}"
                scenarios[name] = load_scenario({"name": name, "map": MAP, "spots": {"A": [0, 0], "B": [2, 0]},
                                                 "trucks": {"A": "K", "B": truck}, "start": [0, 3], "path": path,
                                                 "model": SETTINGS})
    truth = model_predictions(scenarios, "btom", TRUE_BETA)
    rng = make_rng(0, "test", "participants")
    rows = [{"scenario": s, "question": q, "option": o, "participant": f"p{i}",
             "rating": value + rng.normal(0, NOISE)}
            for i in range(N_PEOPLE) for (s, q, o), value in truth.items()]
    return scenarios, pd.DataFrame(rows), truth


def test_fit_recovers_beta_and_beats_lesions(planted):
    scenarios, table, truth = planted
    fit = fit_people(table, scenarios, betas=(0.5, 2.0, 8.0), seed=0, n_boot=200, n_splits=40)
    assert fit.betas["btom"] == TRUE_BETA
    r = fit.scores["btom"]
    assert r.ci[0] <= r.value <= r.ci[1] and r.value > 0.9
    # ceiling: split-half of means of N/2 noisy raters, Spearman-Brown corrected -> var_true / (var_true + s^2/N)
    v = np.var(list(truth.values()))
    assert fit.ceiling == pytest.approx(v / (v + NOISE**2 / N_PEOPLE), abs=0.03)
    for lesion in ("true_belief", "no_cost", "motion"):
        assert fit.differences[lesion].value > 0
    assert fit.differences["motion"].ci[0] > 0


def test_bad_tables_fail_in_one_line(planted, tmp_path):
    scenarios, table, _ = planted
    path = tmp_path / "j.csv"
    table.drop(columns=["participant"]).to_csv(path, index=False)
    with pytest.raises(JudgementError, match="lacks columns"):
        load_judgements(path, scenarios)
    table.assign(scenario="nowhere").to_csv(path, index=False)
    with pytest.raises(JudgementError, match="no scenario file"):
        load_judgements(path, scenarios)
    table.assign(rating="high").to_csv(path, index=False)
    with pytest.raises(JudgementError, match="must be numbers"):
        load_judgements(path, scenarios)
