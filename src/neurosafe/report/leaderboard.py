"""Every run in a runs folder side by side: ``neurosafe results`` (a table, JSON) and its leaderboard page.

Studies are found by their ``results.json`` (schema ``neurosafe.study.results``; the mean over seeds of
each condition on each headline metric, and the brain-data effects), ``neurosafe score`` runs by their
``scores.json`` (each site's score). Nothing is recomputed: rows are the stored Score records.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from neurosafe.core.errors import DataFileError, NeurosafeError
from neurosafe.core.io import load_json
from neurosafe.report.html import Section, write_report
from neurosafe.report.study import LABELS
from neurosafe.study import load_results
from neurosafe.study.results import SCHEMA

__all__ = ["collect_runs", "write_leaderboard"]

STUDY_METRICS = ("clean_accuracy", "pgd_accuracy_mean", "corruption_accuracy", "ece", "rsa", "ridge")


def _row(run: str, kind: str, brain: str, metric: str, condition: str, value, ci, higher_is_better,
         site=None, path: Path | None = None) -> dict:
    return {"run": run, "kind": kind, "brain": brain, "metric": metric, "site": site, "condition": condition,
            "value": value, "ci": None if ci is None else list(ci), "higher_is_better": higher_is_better,
            "path": None if path is None else str(path)}


def _study_rows(path: Path, root: Path) -> list[dict]:
    results = load_results(path)
    run = str(path.parent.relative_to(root)) if path.parent != root else path.parent.name
    brain = results.info.get("brain") or ("recording" if results["config"].get("data") else "synthetic brain")
    site = results["regularized_site"]
    rows = []
    for metric in STUDY_METRICS:
        at = site if metric in ("rsa", "ridge") else None
        for condition in results["conditions"]:
            s = results.score(metric, condition, site=at)
            rows.append(_row(run, "study", brain, metric, condition, s.value, s.ci, s.higher_is_better, at, path))
        for e in results.effects_of(metric, site=at):
            rows.append(_row(run, "study effect", brain, metric, f"{e.condition} - {e.versus}", e.score.value,
                             e.score.ci, e.score.higher_is_better, at, path))
    return rows


def _score_rows(path: Path, root: Path) -> list[dict]:
    raw = load_json(path)
    if not isinstance(raw, dict) or not isinstance(raw.get("sites"), list):
        raise DataFileError(f"{path} is not a neurosafe score file")
    run = str(path.parent.relative_to(root)) if path.parent != root else path.parent.name
    hib = (raw.get("committed") or {}).get("higher_is_better", True)
    rows = []
    for site in raw["sites"]:
        ci = [site.get("ci_low"), site.get("ci_high")]
        ci = None if any(c is None or (isinstance(c, float) and math.isnan(c)) for c in ci) else ci
        rows.append(_row(run, "score", Path(str(raw.get("data", ""))).name, str(raw.get("metric")),
                         str(raw.get("model")), site.get("value"), ci, hib, site.get("site"), path))
    return rows


def collect_runs(folder: str | Path) -> list[dict]:
    """One row per stored score under ``folder`` (studies and score runs); unreadable files are skipped
    with their problem in a row of kind ``"unreadable"``."""
    root = Path(folder)
    if not root.is_dir():
        raise DataFileError(f"no runs folder at {root}")
    rows: list[dict] = []
    for path in sorted(root.rglob("results.json")):
        if "cache" in path.parts:
            continue
        try:
            raw = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError, UnicodeDecodeError):
            continue
        if isinstance(raw, dict) and raw.get("schema") == SCHEMA:
            try:
                rows += _study_rows(path, root)
            except (NeurosafeError, KeyError) as err:
                rows.append(_row(str(path.parent), "unreadable", "", str(err), "", None, None, True, path=path))
    for path in sorted(root.rglob("scores.json")):
        try:
            rows += _score_rows(path, root)
        except (NeurosafeError, KeyError, TypeError) as err:
            rows.append(_row(str(path.parent), "unreadable", "", str(err), "", None, None, True, path=path))
    return rows


def _fmt(row: dict) -> str:
    if row["value"] is None:
        return "-"
    ci = row["ci"]
    return f"{row['value']:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def write_leaderboard(rows: list[dict], path: str | Path, title: str = "neurosafe results") -> Path:
    """One page: per metric, every run and condition ranked best first (by the metric's direction), with
    its 95% CI; study effects (brain minus comparison) in a table of their own."""
    sections = []
    metrics = sorted({(r["kind"] != "study effect", r["metric"], r["site"]) for r in rows if r["kind"] != "unreadable"})
    for _, metric, site in metrics:
        for kind in ("study", "score", "study effect"):
            group = [r for r in rows if r["metric"] == metric and r["site"] == site and r["kind"] == kind]
            if not group:
                continue
            hib = group[0]["higher_is_better"]
            group.sort(key=lambda r: -math.inf if r["value"] is None else (r["value"] if hib else -r["value"]),
                       reverse=True)
            label = LABELS.get(metric, metric) + (f" at {site}" if site else "")
            direction = "higher is better" if hib else "lower is better"
            heading = (f"{label}: effects of brain data (95% CI)" if kind == "study effect"
                       else f"{label} ({direction}; best first, 95% CI)")
            table = [["rank", "run", "brain", "model / condition", "value [95% CI]"]]
            table += [[str(k + 1), r["run"], r["brain"], r["condition"], _fmt(r)] for k, r in enumerate(group)]
            sections.append(Section(heading, table=table))
    bad = [r for r in rows if r["kind"] == "unreadable"]
    if bad:
        sections.append(Section("Unreadable runs", [f"{r['path']}: {r['metric']}" for r in bad]))
    if not sections:
        sections.append(Section("No runs", ["No study (results.json) or score run (scores.json) was found."]))
    n_runs = len({r["run"] for r in rows})
    return write_report(path, f"{title}: {n_runs} runs", sections, {"runs": sorted({r["run"] for r in rows})})
