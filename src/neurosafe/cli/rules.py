"""``neurosafe rules simulate | identify | fit``: which learning rule is at work, from observables of learning."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from neurosafe.cli.common import JsonOpt, console, handle_errors, print_json, print_table

app = typer.Typer(help="Learning-rule inference: simulate networks under known rules, identify the rule from "
                       "observables, fit a plasticity rule to activity.", no_args_is_help=True)


class Backend(StrEnum):
    local = "local"
    ray = "ray"


def _list(text: str | None, cast, what: str) -> list | None:
    from neurosafe.rules.simulate import RuleSimulationError

    if text is None:
        return None
    try:
        return [cast(v.strip()) for v in text.split(",") if v.strip()]
    except ValueError as err:
        raise RuleSimulationError(f"--{what}: expected a comma-separated list; got {text!r}") from err


def _ci(score: dict) -> str:
    ci = score.get("ci")
    return f"{score['value']:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else f"{score['value']:.3f}"


@app.command("simulate")
@handle_errors
def simulate(
    out: Path = typer.Option(Path("runs/rules"), "--out", "-o", help="Folder for the per-group results (resumable)."),
    full: bool = typer.Option(False, "--full", help="The full sweep (2,400 networks) instead of the small default."),
    rules: str | None = typer.Option(None, help="Comma-separated rules (sgd, momentum, adam, fa, hebbian)."),
    tasks: str | None = typer.Option(None, help="Comma-separated tasks (digits, regression)."),
    architectures: str | None = typer.Option(None, help="Comma-separated, e.g. mlp-d2-w64,cnn-d1-w8."),
    networks: int | None = typer.Option(None, min=1, help="Networks per group (trained at once)."),
    groups: int | None = typer.Option(None, min=1, help="Groups per rule x task x architecture cell."),
    steps: int | None = typer.Option(None, min=1, help="Training steps per network."),
    logs: int | None = typer.Option(None, min=2, help="Logging points over training."),
    units: str | None = typer.Option(None, help="Units recorded per layer, comma-separated (0 = all)."),
    noise: str | None = typer.Option(None, help="Measurement-noise levels (x the observable's SD), comma-separated."),
    backend: Backend = typer.Option(Backend.local, help="Executor for the groups: local or ray."),
    workers: int | None = typer.Option(None, min=1, help="Ray: parallel tasks."),
    seed: int = typer.Option(0, min=0, help="Seed of every initialisation, minibatch, unit choice and noise draw."),
    json_out: bool = JsonOpt,
) -> None:
    """Train many small networks under known learning rules and log observables (Nayebi et al. 2020)."""
    import time

    from neurosafe.rules.figures import plot_observables
    from neurosafe.rules.simulate import make_config, parse_architecture, simulate_rules

    fields: dict = {"seed": seed}
    for key, value in (("rules", _list(rules, str, "rules")), ("tasks", _list(tasks, str, "tasks")),
                       ("units", _list(units, int, "units")), ("noise", _list(noise, float, "noise")),
                       ("networks_per_group", networks), ("groups_per_cell", groups), ("steps", steps),
                       ("n_logs", logs)):
        if value is not None:
            fields[key] = value
    if architectures is not None:
        fields["architectures"] = [parse_architecture(a) for a in architectures.split(",") if a.strip()]
    config = make_config(full, **fields)
    start = time.time()
    obs = simulate_rules(config, out, backend=backend.value, workers=workers, progress=False if json_out else None)
    wall = time.time() - start
    figure = plot_observables(obs, out / "observables.png")
    payload = {"out": str(out), "n_networks": int(obs.sizes["network"]), "wall_s": wall,
               "rules": sorted(set(obs.rule.values.tolist())), "architectures": sorted(set(obs.architecture.values)),
               "conditions": [{"units": int(u), "noise": float(n)} for u, n in
                              zip(obs.units.values, obs.noise.values, strict=True)],
               "figures": [str(figure)]}
    if json_out:
        print_json(payload)
        return
    console.print(f"{payload['n_networks']} networks in [bold]{out}[/] ({wall:.0f} s this run); figure: {figure}")


@app.command("identify")
@handle_errors
def identify(
    run: Path = typer.Argument(..., help="A folder written by `neurosafe rules simulate`."),
    out: Path = typer.Option(Path("runs/rules-identify"), "--out", "-o",
                             help="Where results and figures go (never into RUN, the input)."),
    held_out: str | None = typer.Option(None, help="Comma-separated architectures to test on (default: "
                                                   "mlp-d2-w48,cnn-d2-w12 when simulated, else a random 30%)."),
    time_strides: str = typer.Option("1,2,5", help="Sparse sampling over training: keep every k-th log."),
    n_boot: int = typer.Option(1000, min=1, help="Bootstrap resamples for the accuracy CIs."),
    seed: int = typer.Option(0, min=0, help="Seed of the classifier, split and bootstrap."),
    json_out: bool = JsonOpt,
) -> None:
    """Identify the learning rule from aggregate statistics; accuracy vs units recorded, noise and time."""
    from neurosafe.rules.pipeline import run_identification
    from neurosafe.rules.simulate import load_observables

    obs = load_observables(run)
    with console.status("training rule classifiers"):
        result = run_identification(obs, out, held_out=_list(held_out, str, "held-out"),
                                    time_strides=_list(time_strides, int, "time-strides"), seed=seed, n_boot=n_boot)
    if json_out:
        print_json(result)
        return
    print_table(f"held-out accuracy ({result['n_test']} test networks; chance {result['chance']:.2f})",
                ("features", "accuracy [95% CI]"),
                [(fs, _ci(s)) for fs, s in result["accuracy"].items()])
    rows = [r for r in result["curves"] if r["time_stride"] == 1]
    print_table("accuracy vs recording", ("features", "units", "noise", "accuracy [95% CI]"),
                [(r["features"], "all" if r["units"] == 0 else str(r["units"]), f"{r['noise']:g}",
                  _ci({"value": r["accuracy"], "ci": r["ci"]})) for r in rows])
    console.print("figures: " + ", ".join(result["figures"]))


@app.command("fit")
@handle_errors
def fit(
    out: Path = typer.Option(Path("runs/rules_fit"), "--out", "-o", help="Where results and figures go."),
    units: int = typer.Option(200, min=1, help="Recorded (postsynaptic) units."),
    inputs: int = typer.Option(10, min=1, help="Presynaptic inputs per unit."),
    steps: int = typer.Option(1000, min=2, help="Time steps of activity."),
    noise: float = typer.Option(0.01, min=0, help="Recording noise (x activity SD)."),
    max_power: int = typer.Option(2, min=1, help="Highest power of pre, post and weight in the Taylor-series rule."),
    profile_points: int = typer.Option(9, min=2, help="Grid points per profile-likelihood curve."),
    seed: int = typer.Option(0, min=0, help="Seed of inputs, initial weights and noise."),
    json_out: bool = JsonOpt,
) -> None:
    """Fit a Taylor-series plasticity rule to activity generated by Oja's rule; report recovery and degeneracy."""
    from neurosafe.rules.pipeline import run_fit

    with console.status("fitting the plasticity rule through simulated activity"):
        result = run_fit(out, units=units, inputs=inputs, steps=steps, noise=noise, max_power=max_power,
                         profile_points=profile_points, seed=seed)
    if json_out:
        print_json(result)
        return
    coef = result["fit"]["coefficients"]
    print_table("Oja's terms", ("term", "true", "fitted", "relative error"),
                [(t, f"{result['true'][t]:g}", f"{coef[t]:.4f}", f"{e:.2%}")
                 for t, e in result["oja_relative_error"].items()])
    console.print(f"largest |error| of the other {len(coef) - 2} terms: {result['max_abs_error_other_terms']:.4f}; "
                  f"recovered within 5%: {result['recovered_within_5pct']}")
    for d in result["fit"]["weakest_directions"]:
        terms = ", ".join(f"{v:+.2f} {k}" for k, v in d["terms"].items())
        console.print(f"weak direction (eigenvalue ratio {d['relative']:.1e}): {terms}")
    console.print("figures: " + ", ".join(result["figures"]))
