"""``neurosafe irl fit``: infer what demonstrators optimize (maximum-entropy IRL) and score it held out."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import typer

from neurosafe.cli.common import (
    FigureAlias,
    JsonOpt,
    console,
    figure_path,
    handle_errors,
    make_out_dir,
    print_json,
    to_jsonable,
)

app = typer.Typer(help="Loss-function inference: inverse RL on gridworld demonstrations.", no_args_is_help=True)


class FeatureChoice(StrEnum):
    navigation = "navigation"
    indicators = "indicators"


@app.command("fit")
@handle_errors
def fit(
    trajectories: Path | None = typer.Option(
        None, "--trajectories", "-t",
        help="Steps: a neurosafe trajectories JSON, or Ho et al. 2022 navtrials_*.json.zip. "
             "Omitted: recover a planted reward on a synthetic maze."),
    mazes: list[Path] = typer.Option([], "--mazes", "-m", help="Maze JSON (name -> row strings); repeatable."),
    features: FeatureChoice = typer.Option(FeatureChoice.navigation,
                                           help="navigation (goal, step, beside_wall) or indicators (one maze)."),
    discount: float = typer.Option(0.99, min=0, max=1, help="Discount of the soft-optimal demonstrator model."),
    slip: float = typer.Option(0.0, min=0, max=1, help="Probability that a move goes in a random direction."),
    l2: float = typer.Option(1e-3, min=0, help="L2 penalty on the reward weights."),
    test_fraction: float = typer.Option(0.25, min=0, max=1, help="Share of participants held out for scoring."),
    seed: int = typer.Option(0, min=0, help="Seed of the participant split, the bootstrap and the planted task."),
    maze: str | None = typer.Option(None, help="Maze to draw (default: the first by name)."),
    out: Path = typer.Option(Path("runs/irl"), "--out", "-o",
                             help="Folder for irl_reward.png (the maze beside the recovered reward)."),
    figure: Path | None = FigureAlias,
    json_out: bool = JsonOpt,
) -> None:
    """Fit a reward by maximum causal entropy IRL; score held-out actions against uniform and shortest-path."""
    from neurosafe.cli.common import CliInputError
    from neurosafe.core.errors import NeurosafeError
    from neurosafe.lossinfer.pipeline import read_demonstrations, run_irl_fit, run_planted_fit

    for option, value, ok, rule in (("--discount", discount, 0 <= discount < 1, "[0, 1)"),
                                    ("--slip", slip, 0 <= slip <= 1, "[0, 1]"),
                                    ("--l2", l2, l2 >= 0, ">= 0"),
                                    ("--test-fraction", test_fraction, 0 < test_fraction < 1, "(0, 1)")):
        if not ok:
            raise CliInputError(f"{option} must lie in {rule}; got {value:g}")
    if trajectories is not None and not trajectories.is_file():
        raise CliInputError(f"--trajectories: no such file: {trajectories}")
    if trajectories is None and (mazes or maze is not None):
        raise CliInputError("--mazes and --maze apply with --trajectories; the planted task has its own maze")
    for path in mazes:
        if not path.is_file():
            raise CliInputError(f"--mazes: no such file: {path}")
    figure = figure_path(out, "irl_reward.png", figure, json_out)

    with console.status("fitting maximum-entropy IRL"):
        if trajectories is None:
            result = run_planted_fit(figure, seed=seed, l2=l2)
        else:
            try:
                demos = read_demonstrations(trajectories, mazes)
            except NeurosafeError as err:
                raise CliInputError(f"--trajectories {trajectories}: not a neurosafe trajectories JSON or a Ho et al. "
                                    f"2022 navtrials_*.json.zip ({err})") from err
            result = run_irl_fit(demos, figure, features=features.value, discount=discount, slip=slip, l2=l2,
                                 test_fraction=test_fraction, seed=seed, maze=maze)
    if json_out:
        print_json(result)
        return
    if trajectories is None:
        console.print(f"planted reward recovered: r = {result['reward_correlation']:.3f}, policy agreement "
                      f"{result['policy_agreement']:.3f}")
    else:
        console.print(json.dumps({"weights": result["weights"], "split": result["split"]}, indent=2))
        for model, scores in result["heldout"].items():
            ll, acc = scores["log_likelihood"], scores["accuracy"]
            console.print(f"{model:>14}: log-likelihood/step {ll['value']:.4f} [{ll['ci'][0]:.4f}, "
                          f"{ll['ci'][1]:.4f}], accuracy {acc['value']:.3f}")
    console.print(f"figure: [bold]{result['figure']}[/]")


@app.command("navigation")
@handle_errors
def navigation(
    data: Path = typer.Argument(..., help="Folder: the Rosenberg et al. 2021 labyrinth (maze.json + ANIMAL.npz) "
                                          "or Ho et al. 2022 (mazes_*.json + navtrials_exp1.json.zip)."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the figures and result.json."),
    animal: str = typer.Option("D9b", help="Labyrinth animal (file ANIMAL.npz)."),
    folds: int = typer.Option(5, min=2, help="Cross-validation folds over bouts / participants."),
    gru: bool = typer.Option(True, help="Include the GRU twin (torch; the slowest)."),
    turing: bool = typer.Option(True, help="Run the Turing test (C2ST + MMD on behaviour windows)."),
    n_boot: int = typer.Option(1000, min=100, help="Bootstrap resamples for the CIs."),
    seed: int = typer.Option(0, min=0, help="Seed of the folds, the simulations and the bootstrap."),
    json_out: bool = JsonOpt,
) -> None:
    """Twins of real navigation (biased walk, Markov chain, MaxEnt IRL, GRU) scored held out against the
    legal-uniform agent; exploration efficiency vs random walks and a Turing test on the labyrinth."""
    import sys

    from neurosafe.core.errors import DataFileError
    from neurosafe.core.io import save_json

    if not data.is_dir():
        raise DataFileError(f"{data} is not a folder")
    say = None if json_out else (lambda msg: print(f"  {msg}", file=sys.stderr, flush=True))
    if (data / "maze.json").exists():
        from neurosafe.data.labyrinth import load_labyrinth
        from neurosafe.lossinfer.navigation_run import run_labyrinth

        result = run_labyrinth(load_labyrinth(data, animal), out, seed=seed, n_folds=folds, gru=gru,
                               turing=turing, n_boot=n_boot, progress=say)
    elif list(data.glob("mazes_*.json")):
        from neurosafe.lossinfer.ho2022 import load_ho2022
        from neurosafe.lossinfer.navigation_run import run_ho2022_navigation

        result = run_ho2022_navigation(load_ho2022(data), out, seed=seed, n_folds=folds, n_boot=n_boot, progress=say)
    else:
        raise DataFileError(f"{data} holds neither a labyrinth (maze.json) nor Ho et al. 2022 mazes (mazes_*.json)")
    make_out_dir(out)
    save_json(out / "result.json", to_jsonable(result))
    if json_out:
        print_json(result)
        return
    console.print(f"held-out log-likelihood per decision (nats), {result['heldout']['n_decisions']} decisions, "
                  f"{result['heldout']['n_units']} units, {result['heldout']['n_folds']}-fold CV:")
    for name, row in result["heldout"]["twins"].items():
        lo, hi = row["ci"]
        dlo, dhi = row["minus_legal_uniform_ci"]
        console.print(f"{name:>16}: {row['log_likelihood']:.4f} [{lo:.4f}, {hi:.4f}]   minus legal-uniform "
                      f"{row['minus_legal_uniform']:+.4f} [{dlo:+.4f}, {dhi:+.4f}]")
    if "efficiency" in result:
        n32 = result["efficiency"]["visits_to_discover_32"]
        console.print("end-node visits to discover 32 of 64 end nodes: "
                      + ", ".join(f"{k} {v:.0f}" for k, v in n32.items()))
    for name, fig in result.get("figures", {}).items():
        console.print(f"{name}: [bold]{fig}[/]")
    console.print(f"results: [bold]{out / 'result.json'}[/]")
