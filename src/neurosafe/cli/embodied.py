"""``neurosafe embodied fit | turing | probe``: embodied twins of a planted animal on a MuJoCo body."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from neurosafe.cli.common import JsonOpt, console, handle_errors, print_json, print_table

app = typer.Typer(help="Embodied digital twins: imitate a planted animal on a MuJoCo body, align with its "
                       "neurons, run the embodied Turing test and safety probes.", no_args_is_help=True)


class BodyName(StrEnum):
    half_cheetah = "half_cheetah"
    swimmer = "swimmer"
    rodent = "rodent"


def _out_opt(command: str):
    return typer.Option(Path("runs/embodied") / command, "--out", "-o",
                        help="Folder for results, figures and checkpoints.")

SeedOpt = typer.Option(0, "--seed", min=0, help="Seed of the animal, its trials and the twin.")
TrialsOpt = typer.Option(12, "--trials", min=2, help="Trials of the animal (40% held out).")
StepsOpt = typer.Option(200, "--steps", min=1, help="Control steps per trial (0.05 s each).")
BodyOpt = typer.Option(BodyName.half_cheetah, "--body", help="The body (rodent needs dm-control).")
FrictionOpt = typer.Option(1.0, min=0, help="Ground friction scale.")


def _body(body: BodyName, friction: float):
    from neurosafe.embodied import BodyConfig

    return BodyConfig(body=body.value, friction=friction)


def _twin_config(seed: int, bc_epochs: int, dagger: int, json_out: bool):
    from neurosafe.embodied import TwinConfig

    return TwinConfig(seed=seed, bc_epochs=bc_epochs, dagger_iterations=dagger,
                      progress=None if not json_out else False)


def _fmt(x) -> str:
    return "-" if x is None else f"{x:.3f}"


def _ci(ci) -> str:
    return "-" if not ci else f"[{ci[0]:.3f}, {ci[1]:.3f}]"


@app.command()
@handle_errors
def fit(
    out: Path = _out_opt("fit"), seed: int = SeedOpt, trials: int = TrialsOpt, steps: int = StepsOpt,
    body: BodyName = BodyOpt,
    friction: float = FrictionOpt,
    bc_epochs: int = typer.Option(60, min=1, help="Behaviour-cloning epochs."),
    dagger: int = typer.Option(3, min=0, help="DAgger iterations (the animal labels the twin's states)."),
    json_out: bool = JsonOpt,
) -> None:
    """Fit the twin to the planted animal (behaviour cloning, then DAgger) and score neural alignment per layer
    against kinematics."""
    from neurosafe.embodied.experiments import fit_experiment

    result = fit_experiment(out, _body(body, friction), trials, steps, _twin_config(seed, bc_epochs, dagger, json_out),
                            seed)
    if json_out:
        print_json(result)
        return
    print_table("Neural predictivity of the planted neurons (median r, trial-grouped 5-fold ridge)",
                ("features", "r", "95% CI", "ceiling", "minus kinematics", "CI"),
                [(r["features"], _fmt(r["value"]), _ci(r["ci"]), _fmt(r["ceiling"]), _fmt(r["minus_kinematics"]),
                  _ci(r["minus_kinematics_ci"])) for r in result["alignment"]["table"]])
    console.print(f"tracking error on held-out trials: {result['tracking']['tracking_error']:.3f} rad; "
                  f"figures in {out}; {result['frame_strip']}")


@app.command()
@handle_errors
def turing(
    out: Path = _out_opt("turing"), seed: int = SeedOpt, trials: int = TrialsOpt, steps: int = StepsOpt,
    body: BodyName = BodyOpt,
    friction: float = FrictionOpt,
    window: int = typer.Option(20, min=2, help="Window length (control steps) of a behaviour sample."),
    n_perm: int = typer.Option(1000, min=1, help="Permutations of the two-sample tests."),
    bc_epochs: int = typer.Option(60, min=1, help="Behaviour-cloning epochs."),
    dagger: int = typer.Option(3, min=0, help="DAgger iterations."),
    json_out: bool = JsonOpt,
) -> None:
    """Embodied Turing test on held-out trials: C2ST and MMD, twin and phase-scrambled twin vs the animal."""
    from neurosafe.embodied.experiments import turing_experiment

    config = _twin_config(seed, bc_epochs, dagger, json_out)
    result = turing_experiment(out, _body(body, friction), trials, steps, config, seed, window, n_perm)
    if json_out:
        print_json(result)
        return
    for name in ("twin", "phase-scrambled twin"):
        console.print(f"{name}: {result[name]['verdict']}")


@app.command()
@handle_errors
def probe(
    out: Path = _out_opt("probe"), seed: int = SeedOpt, trials: int = typer.Option(10, "--trials", min=2),
    steps: int = typer.Option(160, "--steps", min=1), body: BodyName = BodyOpt, friction: float = FrictionOpt,
    seeds: int = typer.Option(3, min=1, help="Training seeds per agent (CIs over seeds)."),
    forces: str = typer.Option("0,100,200,400,800", help="Push forces (N), comma-separated."),
    ppo_iterations: int = typer.Option(20, min=1, help="PPO iterations of the task-reward-only agent."),
    bc_epochs: int = typer.Option(60, min=1, help="Behaviour-cloning epochs."),
    dagger: int = typer.Option(3, min=0, help="DAgger iterations."),
    json_out: bool = JsonOpt,
) -> None:
    """Safety probes: the twin vs a same-architecture PPO agent trained on task reward only (push recovery,
    falls, joint limits, energy, OOD), with CIs over seeds, in robustness/specification/assurance terms."""
    from neurosafe.embodied import EmbodiedError, PPOConfig
    from neurosafe.embodied.experiments import probe_experiment

    try:
        force_list = tuple(float(f) for f in forces.split(",") if f.strip())
    except ValueError as err:
        raise EmbodiedError(f"--forces must be comma-separated numbers; got {forces!r}") from err
    result = probe_experiment(out, _body(body, friction), trials, steps, seeds, force_list,
                              PPOConfig(iterations=ppo_iterations), _twin_config(seed, bc_epochs, dagger, json_out),
                              seed, progress=None if not json_out else False)
    if json_out:
        print_json(result)
        return
    rows = []
    for m, d in result["differences"].items():
        t = result["scores"]["twin"][m]
        a = result["scores"]["task_agent"][m]
        rows.append((m, result["terms"][m]["term"], _fmt(t["value"]), _fmt(a["value"]), _fmt(d["value"]), _ci(d["ci"]),
                     result["terms"][m]["twin"]))
    print_table("Twin vs task-reward-only agent (mean over seeds)",
                ("measure", "term", "twin", "task agent", "difference", "95% CI", "twin is"), rows)
    console.print(f"figures in {out}")
