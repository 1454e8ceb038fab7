"""``neurosafe tom infer|fit`` (Bayesian theory of mind) and ``neurosafe rsa-game`` (Rational Speech Acts)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from neurosafe.cli.common import JsonOpt, console, handle_errors, make_out_dir, report

app = typer.Typer(help="Bayesian theory of mind: infer desires and beliefs from paths; fit models to people.",
                  no_args_is_help=True)


class Model(StrEnum):
    btom = "btom"
    true_belief = "true_belief"
    no_cost = "no_cost"
    motion = "motion"


class Method(StrEnum):
    exact = "exact"
    importance = "importance"
    smc = "smc"
    svi = "svi"


@app.command("infer")
@handle_errors
def infer(
    scenario: Path = typer.Argument(..., help="Scenario JSON (map, spots, trucks, types, start, path; see README)."),
    model: Model = typer.Option(Model.btom, help="BToM or a comparison model."),
    method: Method = typer.Option(Method.exact, help="exact enumeration, importance sampling, SMC or SVI (Pyro)."),
    beta: float | None = typer.Option(None, min=0, help="Rationality (default: the scenario's model.beta)."),
    samples: int = typer.Option(64, min=1,
                                help="Importance sampling: beliefs and desires drawn (each); SMC: x 30 particles."),
    seed: int = typer.Option(0, min=0, help="Seed of importance sampling and SVI."),
    out: Path = typer.Option(Path("runs/tom"), "--out", "-o", help="Folder for posterior.json and posterior.png."),
    json_out: bool = JsonOpt,
) -> None:
    """Joint posterior over the agent's desires and initial beliefs given its path, step by step."""
    from neurosafe.cognitive.btom import BToM, btom_importance, btom_infer, btom_smc, btom_svi
    from neurosafe.cognitive.errors import ScenarioError
    from neurosafe.cognitive.figures import plot_posterior
    from neurosafe.cognitive.world import load_scenario
    from neurosafe.core.io import save_json

    sc = load_scenario(scenario)
    if method != Method.exact and model != Model.btom:
        raise ScenarioError("the sampling methods (importance, smc, svi) are implemented for the btom model only")
    if beta is not None and beta <= 0:
        raise ScenarioError(f"beta must be positive; got {beta}")
    with console.status(f"inferring ({model.value}, {method.value})"):
        if method == Method.exact:
            post = btom_infer(sc, model.value, beta)
        elif method == Method.importance:
            post = btom_importance(sc, samples, samples, seed, BToM.variant("btom", sc, beta))
        elif method == Method.smc:
            post = btom_smc(sc, samples * 30, seed, BToM.variant("btom", sc, beta))
        else:
            post = btom_svi(sc, seed=seed, model=BToM.variant("btom", sc, beta))
    make_out_dir(out)
    figure = plot_posterior(sc, post, out / "posterior.png")
    payload = {**post.to_dict(), "method": method.value, "figure": str(figure)}
    save_json(out / "posterior.json", payload)
    d = payload["desire_rating"]
    lines = [f"[bold]{sc.name}[/] ({model.value}, {method.value}, {post.seconds:.2f} s)",
             "desire (1-7): " + ", ".join(f"{k} {v:.2f}" for k, v in d.items())]
    lines += [f"belief about hidden spot {s}: " + ", ".join(f"{k} {v:.2f}" for k, v in b.items())
              for s, b in payload["belief"].items()]
    report(payload, json_out, [*lines, f"figure: [bold]{figure}[/]"])


@app.command("counterfactual")
@handle_errors
def counterfactual(
    scenario: Path = typer.Argument(..., help="Scenario JSON (map, spots, trucks, types, start, path; see README)."),
    intervene: list[str] = typer.Option(["visible=1"], "--intervene", "-i",
                                        help="SITE=VALUE: visible=1 (every hidden spot in view), visible_<spot>=0|1, "
                                             "desire=K:0,L:10,M:5, belief=0.5,0.5,0 (repeatable)."),
    query: str = typer.Option("eats:A", help="eats:<spot>, looks:<spot>, detour or moves (all are reported)."),
    samples: int = typer.Option(2000, min=1, help="Posterior draws (Monte Carlo)."),
    horizon: int | None = typer.Option(None, min=1,
                                       help="Steps to roll the agent out (default: path + rows + columns)."),
    interventional: bool = typer.Option(False, "--interventional",
                                        help="P(query | do(...)) with fresh noise instead of the counterfactual."),
    beta: float | None = typer.Option(None, min=0, help="Rationality (default: the scenario's model.beta)."),
    seed: int = typer.Option(0, min=0, help="Seed of the posterior draws and the noise."),
    out: Path = typer.Option(Path("runs/tom-cf"), "--out", "-o", help="Folder for counterfactual.json and .png."),
    json_out: bool = JsonOpt,
) -> None:
    """Would the agent have acted otherwise had the world (or its mind) been different? ChiRho twin worlds."""
    from neurosafe.cognitive.btom import BToM
    from neurosafe.cognitive.causal import agent_counterfactual
    from neurosafe.cognitive.errors import ScenarioError
    from neurosafe.cognitive.figures import plot_counterfactual
    from neurosafe.cognitive.world import load_scenario
    from neurosafe.core.io import save_json

    sc = load_scenario(scenario)
    if beta is not None and beta <= 0:
        raise ScenarioError(f"beta must be positive; got {beta}")
    intervention = _parse_interventions(intervene)
    mode = "interventional" if interventional else "counterfactual"
    with console.status(f"{mode} query ({samples} posterior draws)"):
        res = agent_counterfactual(sc, intervention, query, samples, seed, horizon, BToM.variant("btom", sc, beta),
                                   mode)
    out.mkdir(parents=True, exist_ok=True)
    figure = plot_counterfactual(sc, res, out / "counterfactual.png")
    payload = {"scenario": sc.name, **res.to_dict(), "figure": str(figure)}
    save_json(out / "counterfactual.json", payload)
    do = ", ".join(f"{k}={v}" for k, v in intervention.items())
    lines = [f"[bold]{sc.name}[/] ({mode}, do({do}), {samples} draws)",
             f"P({query}) = {res.value:.3f} +- {res.stderr:.3f} (factual {res.factual_value:.3f})"
             if query != "moves" else f"moves = {res.value:.2f} +- {res.stderr:.2f} (factual {res.factual_value:.2f})"]
    lines += [f"  {q:>10}  factual {r['factual']:.3f}, intervened {r['intervened']:.3f}"
              for q, r in res.queries.items() if q != query]
    report(payload, json_out, [*lines, f"figure: [bold]{figure}[/]"])


def _parse_interventions(items: list[str]) -> dict:
    """SITE=VALUE strings -> the intervention mapping of agent_counterfactual (one-line errors)."""
    from neurosafe.cognitive.errors import ScenarioError

    out: dict = {}
    for item in items:
        site, eq, value = item.partition("=")
        if not eq or not site or not value:
            raise ScenarioError(f"--intervene must be SITE=VALUE; got {item!r}")
        try:
            if site == "desire" and ":" in value:
                out[site] = {k: float(v) for k, v in (p.split(":") for p in value.split(","))}
            elif site in ("desire", "belief"):
                out[site] = [float(v) for v in value.split(",")]
            else:
                out[site] = int(value) if value in ("0", "1") else value
        except ValueError as err:
            raise ScenarioError(f"--intervene {item!r}: values must be numbers") from err
    return out


@app.command("fit")
@handle_errors
def fit(
    judgements: Path = typer.Argument(..., help="CSV: scenario, question, option, rating, participant."),
    scenarios: Path = typer.Option(..., "--scenarios", "-s", help="Folder of scenario JSON files (by their name)."),
    betas: str = typer.Option("0.25,0.5,1,2,4", help="Comma-separated grid of beta values."),
    n_boot: int = typer.Option(500, min=1, help="Bootstrap replicates over participants and scenarios."),
    seed: int = typer.Option(0, min=0, help="Seed of the bootstrap and the split halves."),
    out: Path = typer.Option(Path("runs/tom-fit"), "--out", "-o", help="Folder for fit.json and fit.png."),
    json_out: bool = JsonOpt,
) -> None:
    """Fit beta for BToM and its lesions by grid and score each against the mean judgements."""
    from neurosafe.cognitive.errors import JudgementError, ScenarioError
    from neurosafe.cognitive.figures import plot_fit
    from neurosafe.cognitive.fitting import fit_people, load_judgements
    from neurosafe.cognitive.world import load_scenario
    from neurosafe.core.io import save_json

    if not scenarios.is_dir():
        raise ScenarioError(f"scenario folder not found: {scenarios}")
    loaded = [load_scenario(p) for p in sorted(scenarios.glob("*.json"))]
    if not loaded:
        raise ScenarioError(f"no scenario JSON files in {scenarios}")
    by_name = {s.name: s for s in loaded}
    try:
        grid = tuple(float(b) for b in betas.split(","))
    except ValueError as err:
        raise JudgementError(f"--betas must be comma-separated numbers; got {betas!r}") from err
    if any(b <= 0 for b in grid):
        raise JudgementError(f"--betas must be positive; got {betas!r}")
    table = load_judgements(judgements, by_name)
    with console.status(f"fitting {len(grid)} beta values x 4 models on {len(by_name)} scenarios"):
        result = fit_people(table, by_name, betas=grid, seed=seed, n_boot=n_boot)
    make_out_dir(out)
    figure = plot_fit(result, out / "fit.png")
    payload = {**result.to_dict(), "figure": str(figure)}
    save_json(out / "fit.json", payload)
    lines = [f"{result.n_items} items, {result.n_participants} participants, split-half ceiling {result.ceiling:.3f}"]
    for m, s in result.scores.items():
        ci = f"[{s.ci[0]:.3f}, {s.ci[1]:.3f}]" if s.ci else ""
        lines.append(f"{m:>12}: beta {result.betas[m]}, r = {s.value:.3f} {ci}")
    report(payload, json_out, [*lines, f"figure: [bold]{figure}[/]"])


@handle_errors
def rsa_game(
    game: Path = typer.Argument(..., help="Game JSON: referents, semantics (utterance -> referents), prior, cost."),
    alpha: float | None = typer.Option(None, min=0, help="Speaker rationality (default: the game's alpha)."),
    depth: int | None = typer.Option(None, min=0, help="Recursion depth (default: the game's depth)."),
    out: Path = typer.Option(Path("runs/rsa"), "--out", "-o", help="Folder for rsa.json and rsa.png."),
    json_out: bool = JsonOpt,
) -> None:
    """Literal and pragmatic listeners and the speaker of a reference game (Rational Speech Acts)."""
    from dataclasses import replace

    from neurosafe.cognitive.figures import plot_rsa
    from neurosafe.cognitive.rsa import load_game, rsa
    from neurosafe.core.io import save_json

    g = load_game(game)
    g = replace(g, alpha=g.alpha if alpha is None else alpha, depth=g.depth if depth is None else depth)
    result = rsa(g)
    make_out_dir(out)
    figure = plot_rsa(result, out / "rsa.png")
    payload = {**result.to_dict(), "figure": str(figure)}
    save_json(out / "rsa.json", payload)
    lines = [f"pragmatic listener L{g.depth} (alpha {g.alpha}):"]
    lines += [f"  {u!r}: " + ", ".join(f"{r} {p:.3f}" for r, p in row.items())
              for u, row in payload["listener"].items()]
    report(payload, json_out, [*lines, f"figure: [bold]{figure}[/]"])
