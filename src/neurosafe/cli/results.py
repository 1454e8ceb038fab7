"""``neurosafe results [RUNS_DIR]``: every study and score run in a folder as one table, or a leaderboard page."""

from __future__ import annotations

from pathlib import Path

import typer

from neurosafe.cli.common import JsonOpt, out_folder, print_json, print_table
from neurosafe.cli.common import out as out_console


def results(
    runs: Path = typer.Argument(Path("runs"), help="Folder holding run folders (studies, score runs)."),
    html: bool = typer.Option(False, "--html", help="Also write a leaderboard page (every run side by side per "
                              "metric, with CIs) to OUT/leaderboard.html."),
    out: Path = typer.Option(Path("runs/results"), "--out", "-o", help="Folder for leaderboard.html (with --html)."),
    json_out: bool = JsonOpt,
) -> None:
    """List every study and score in a runs folder: run, brain, metric, condition, value and 95% CI."""
    from neurosafe.core.errors import DataFileError
    from neurosafe.report.leaderboard import collect_runs, write_leaderboard

    if not runs.is_dir():
        raise DataFileError(f"no runs folder at {runs}")
    page = out_folder(out) / "leaderboard.html" if html else None
    rows = collect_runs(runs)
    if not rows:
        raise DataFileError(f"no study or score runs in {runs} (folders holding results.json or scores.json)")
    page = write_leaderboard(rows, page) if page is not None else None
    if json_out:
        print_json({"runs": sorted({r["run"] for r in rows}), "rows": rows,
                    "leaderboard": None if page is None else str(page.resolve())})
        return

    def fmt(r: dict) -> str:
        if r["value"] is None:
            return "-"
        return f"{r['value']:.3f}" + (f" [{r['ci'][0]:.3f}, {r['ci'][1]:.3f}]" if r["ci"] else "")

    print_table(f"{len({r['run'] for r in rows})} runs in {runs}", ("run", "kind", "brain", "metric", "site",
                                                                      "condition", "value [95% CI]"),
                [(r["run"], r["kind"], r["brain"], r["metric"], r["site"] or "", r["condition"], fmt(r))
                 for r in rows])
    if page is not None:
        out_console.print(f"leaderboard: {page.resolve()}", highlight=False)
