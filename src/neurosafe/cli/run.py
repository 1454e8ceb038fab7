"""``neurosafe run [STUDY.yaml]``: run a study (default: the built-in study on the synthetic brain)."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from neurosafe.cli.common import JsonOpt, handle_errors, print_json
from neurosafe.cli.common import out as out_console


@handle_errors
def run(
    study: Path | None = typer.Argument(None, help="Study YAML file (default: the built-in default study)."),
    data: Path | None = typer.Option(None, help="Run on a real recording (.nc with stimuli) instead of the "
                                                "synthetic brain, e.g. one made by `neurosafe import cowley2023`."),
    name: str | None = typer.Option(None, help="Run name (folder under --out); default from the study."),
    out: Path = typer.Option(Path("runs"), "--out", "-o", help="Parent folder of run folders."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Recompute every stage (twin and networks included), "
                                  "ignoring cached results."),
    backend: str = typer.Option("local", help="Executor of the twin fit and the networks: local or ray."),
    workers: int | None = typer.Option(None, min=1, help="Parallel tasks (ray: CPUs of a local instance)."),
    json_out: bool = JsonOpt,
) -> None:
    """Does brain data make a network safer? Record -> twin -> train baseline, brain-regularized and
    control networks over seeds -> robustness and alignment -> runs/<name>/report.html and results.json."""
    from neurosafe.core.executor import BACKENDS, get_executor
    from neurosafe.report import write_study_report
    from neurosafe.study import load_study
    from neurosafe.study.cache import cached_results

    t0 = time.perf_counter()
    cfg = load_study(study, data=data, name=name)
    if backend not in BACKENDS:
        get_executor(backend, workers=workers)  # refuses it in one line, before anything else
    folder = out / cfg.name
    # fully cached: the stored results, without importing the runner (models, training, data loaders)
    results = None if no_cache else cached_results(cfg, folder, backend, workers, started=t0)
    if results is None:
        from neurosafe.study import run_study

        if cfg.data is not None:  # a file that is not a recording fails here, before any stage starts
            from neurosafe.data.io import load_recording

            load_recording(cfg.data)
        result = run_study(cfg, out_root=out, use_cache=not no_cache, progress=None if not json_out else False,
                           backend=backend, workers=workers)
        folder, results = result.folder, result.results
    write_study_report(folder)  # figures are redrawn only when the results or the report code changed
    if json_out:
        print_json(results.to_dict())
        return
    from rich.markup import escape

    from neurosafe.core.progress import format_seconds
    from neurosafe.report import bottom_line

    brain = results.info.get("brain", "the brain")
    lines = [f"[bold]{escape(cfg.name)}[/] on {escape(brain)}:", *map(escape, bottom_line(results)),
             f"report: [bold]{(folder / 'report.html').resolve()}[/]",
             f"total time {format_seconds(time.perf_counter() - t0)}"
             + (f" (numbers computed earlier in {format_seconds(computed['wall_time_s'])}, served from the cache)"
                if (computed := results["run"].get("computed", {})).get("wall_time_s", 0)
                > results["run"]["wall_time_s"] + 1 else "")]
    for line in lines:
        out_console.print(line, highlight=False)
