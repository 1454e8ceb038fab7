"""Fitting people: a trial-level judgement table, a grid fit of the rationality beta, correlation with mean
judgements with bootstrap CIs over participants and scenarios, the split-half ceiling, and the lesioned
comparison models (Baker et al. 2017 fit beta and compared BToM with TrueBelief, NoCost and a motion
heuristic in the same way).

Table format (CSV, one row per judgement): ``scenario`` (a scenario name), ``question`` (``desire`` or
``belief``), ``option`` (a truck type, or for beliefs a type or ``none``), ``rating`` (a number, e.g. 1-7),
``participant`` (an id). The model's prediction for (scenario, question, option) is its posterior expected
rating on the 1-7 scale (:meth:`BToMPosterior.judgements`).

Simplification (named): beta is chosen on the same mean judgements it is scored on (as in the paper's
reported fits); the bootstrap refits nothing, so the CIs do not include the fitting uncertainty of beta.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from neurosafe.cognitive.btom import MODELS, btom_infer
from neurosafe.cognitive.errors import JudgementError
from neurosafe.cognitive.world import Scenario
from neurosafe.core.seeds import make_rng
from neurosafe.metrics.bootstrap import bootstrap_indices
from neurosafe.metrics.reliability import spearman_brown
from neurosafe.metrics.score import Score, paired_difference, provenance

__all__ = ["COLUMNS", "FitResult", "fit_people", "load_judgements", "model_predictions", "validate_judgements"]

COLUMNS = ("scenario", "question", "option", "rating", "participant")


def validate_judgements(table: pd.DataFrame, scenarios: dict[str, Scenario] | None = None) -> pd.DataFrame:
    """Check columns, numeric ratings, questions and (given ``scenarios``) the scenario names; one-line errors."""
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise JudgementError(f"judgement table lacks columns {missing} (needs {list(COLUMNS)})")
    table = table[list(COLUMNS)].copy()
    table["rating"] = pd.to_numeric(table["rating"], errors="coerce")
    if table["rating"].isna().any() or not len(table):
        bad = table.index[table["rating"].isna()][:5].tolist()
        raise JudgementError(f"ratings must be numbers; rows {bad} are not" if bad else "judgement table is empty")
    for c in ("scenario", "question", "option", "participant"):
        table[c] = table[c].astype(str)
    bad_q = sorted(set(table["question"]) - {"desire", "belief"})
    if bad_q:
        raise JudgementError(f"question must be 'desire' or 'belief'; got {bad_q}")
    if scenarios is not None:
        unknown = sorted(set(table["scenario"]) - set(scenarios))
        if unknown:
            raise JudgementError(f"judgements name scenarios with no scenario file: {unknown[:5]}")
    return table


def load_judgements(path: str | Path, scenarios: dict[str, Scenario] | None = None) -> pd.DataFrame:
    try:
        table = pd.read_csv(path)
    except FileNotFoundError as err:
        raise JudgementError(f"judgement file not found: {path}") from err
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise JudgementError(f"judgement file {path} is not a readable CSV: {err}") from err
    return validate_judgements(table, scenarios)


def model_predictions(scenarios: dict[str, Scenario], model: str = "btom", beta: float | None = None
                      ) -> dict[tuple[str, str, str], float]:
    """(scenario, question, option) -> the model's predicted rating."""
    out = {}
    for name, scenario in scenarios.items():
        for (question, option), value in btom_infer(scenario, model, beta).judgements().items():
            out[(name, question, option)] = value
    return out


@dataclass
class FitResult:
    """Per model: fitted beta, the Score (Pearson r with mean judgements; ceiling = split-half reliability),
    and the paired difference of BToM minus each other model."""

    betas: dict[str, float | None]
    scores: dict[str, Score]
    differences: dict[str, Score]
    ceiling: float
    n_items: int
    n_participants: int
    beta_curve: dict[str, list[tuple[float, float]]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "n_items": self.n_items, "n_participants": self.n_participants, "ceiling": self.ceiling,
            "models": {m: {"beta": self.betas[m], "r": s.value, "ci": s.ci, "ceiled": s.ceiled_value}
                       for m, s in self.scores.items()},
            "btom_minus": {m: {"value": d.value, "ci": d.ci} for m, d in self.differences.items()},
            "beta_curve": self.beta_curve,
        }


def _sums(table: pd.DataFrame, items: list[tuple], participants: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(participants, items) sums and counts of ratings."""
    p_pos = {p: i for i, p in enumerate(participants)}
    i_pos = {k: i for i, k in enumerate(items)}
    rows = table["participant"].map(p_pos).to_numpy()
    cols = np.array([i_pos[k] for k in zip(table["scenario"], table["question"], table["option"], strict=True)])
    shape = (len(participants), len(items))
    total, count = np.zeros(shape), np.zeros(shape)
    np.add.at(total, (rows, cols), table["rating"].to_numpy(float))
    np.add.at(count, (rows, cols), 1.0)
    return total, count


def _item_means(sums: tuple[np.ndarray, np.ndarray], draw: np.ndarray) -> np.ndarray:
    """Mean rating of each item over a draw of participant indices (repeats count repeatedly)."""
    w = np.bincount(draw, minlength=len(sums[0])).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (w @ sums[0]) / (w @ sums[1])


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3 or np.std(a[ok]) == 0 or np.std(b[ok]) == 0:
        return float("nan")
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


def fit_people(table: pd.DataFrame, scenarios: dict[str, Scenario], models: tuple[str, ...] = MODELS,
               betas: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0), seed: int = 0, n_boot: int = 500,
               n_splits: int = 100) -> FitResult:
    """Fit beta per model by grid (least squares against the mean judgements, on the rating scale) and score
    every model by its correlation with them. ``beta_curve``: (beta, mean squared error) per model."""
    table = validate_judgements(table, scenarios)
    bad = [m for m in models if m not in MODELS]
    if bad:
        raise JudgementError(f"unknown models {bad}; choose from {MODELS}")
    items = sorted(set(zip(table["scenario"], table["question"], table["option"], strict=True)))
    participants = np.array(sorted(set(table["participant"])))
    if len(participants) < 2:
        raise JudgementError("need at least two participants (for the split-half ceiling)")
    sums = _sums(table, items, participants)
    human = _item_means(sums, np.arange(len(participants)))
    # predictions for every model and beta on every item (nan where a model has no prediction)
    preds: dict[str, dict[float | None, np.ndarray]] = {}
    for m in models:
        grid = (None,) if m == "motion" else betas
        preds[m] = {}
        for b in grid:
            p = model_predictions({s: scenarios[s] for s in set(table["scenario"])}, m, b)
            preds[m][b] = np.array([p.get(k, np.nan) for k in items])
    fitted, curve = {}, {}
    for m in models:
        mse = {b: float(np.nanmean((v - human) ** 2)) for b, v in preds[m].items()}
        curve[m] = [(b, e) for b, e in mse.items() if b is not None]
        fitted[m] = min(mse, key=lambda b: np.inf if np.isnan(mse[b]) else mse[b])
    # split-half reliability of the item means (Spearman-Brown corrected), the ceiling
    rng = make_rng(seed, "cognitive", "split_half")
    halves = []
    for _ in range(n_splits):
        perm = rng.permutation(len(participants))
        h = len(perm) // 2
        halves.append(_pearson(_item_means(sums, perm[:h]), _item_means(sums, perm[h:])))
    ceiling = float(spearman_brown(np.nanmean(halves)))
    # one bootstrap over participants and scenarios jointly, shared by every model (paired differences)
    scen_names = np.array(sorted(set(table["scenario"])))
    p_idx = bootstrap_indices(len(participants), n_boot, seed, "cognitive", "participants")
    s_idx = bootstrap_indices(len(scen_names), n_boot, seed, "cognitive", "scenarios")
    item_scen = np.array([k[0] for k in items])
    reps_human = []
    item_rows = []
    for pi, si in zip(p_idx, s_idx, strict=True):
        reps_human.append(_item_means(sums, pi))
        counts = pd.Series(scen_names[si]).value_counts()
        item_rows.append(np.concatenate([np.flatnonzero(item_scen == s).repeat(c) for s, c in counts.items()]))
    scores = {}
    for m in models:
        pred = preds[m][fitted[m]]
        values = np.array([_pearson(pred[rows], h[rows]) for h, rows in zip(reps_human, item_rows, strict=True)])
        score = Score.from_bootstrap(values, len(participants), higher_is_better=True,
                                     provenance=provenance("judgement_correlation", {"model": m, "beta": fitted[m],
                                                           "n_boot": n_boot}, seed=seed))
        scores[m] = Score(score.value, ceiling=ceiling, ceiled_value=score.value / ceiling if ceiling > 0 else None,
                          ci=score.ci, provenance=score.provenance, n=score.n, method=score.method,
                          replicates=score.replicates)
    diffs = {m: paired_difference(scores["btom"], scores[m], name=f"btom minus {m}")
             for m in models if m != "btom" and "btom" in scores}
    return FitResult(fitted, scores, diffs, ceiling, len(items), len(participants), curve)
