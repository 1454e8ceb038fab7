"""``neurosafe run [STUDY.yaml]``: run a study (default: the built-in study on the synthetic brain)."""

from __future__ import annotations

from pathlib import Path

import typer

from neurosafe.cli.common import JsonOpt, console, handle_errors, print_json


@handle_errors
def run(
    study: Path | None = typer.Argument(None, help="Study YAML file (default: the built-in default study)."),
    data: Path | None = typer.Option(None, help="Run on a real recording (.nc with stimuli) instead of the "
                                                "synthetic brain, e.g. one made by `neurosafe import cowley2023`."),
    name: str | None = typer.Option(None, help="Run name (folder under --out); default from the study."),
    out: Path = typer.Option(Path("runs"), "--out", "-o", help="Parent folder of run folders."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Recompute every stage, ignoring cached results."),
    backend: str = typer.Option("local", help="Executor of the twin fit and the networks: local or ray."),
    workers: int | None = typer.Option(None, help="Parallel tasks (ray: CPUs of a local instance)."),
    json_out: bool = JsonOpt,
) -> None:
    """Does brain data make a network safer? Record -> twin -> train baseline, brain-regularized and
    control networks over seeds -> robustness and alignment -> runs/<name>/report.html and results.json."""
    from neurosafe.report import write_study_report
    from neurosafe.study import load_study, run_study

    cfg = load_study(study, data=data, name=name)
    result = run_study(cfg, out_root=out, use_cache=not no_cache, progress=None if not json_out else False,
                       backend=backend, workers=workers)
    write_study_report(result.folder)
    if json_out:
        print_json(result.results.to_dict())
        return
    site = result.results["regularized_site"]
    for metric, at in (("rsa", site), ("ridge", site), ("pgd_accuracy_mean", None), ("corruption_accuracy", None)):
        for e in result.results.effects_of(metric, site=at):
            ci = e.score.ci
            label = f"{metric}/{at}" if at else metric
            console.print(f"{label:>22} {e.condition} - {e.versus:<9} {e.score.value:+.3f}"
                          + (f"  [{ci[0]:+.3f}, {ci[1]:+.3f}]" if ci else ""))
    console.print(f"report: [bold]{result.folder / 'report.html'}[/]")
