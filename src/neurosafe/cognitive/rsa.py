"""Rational Speech Acts: pragmatic listeners and speakers in reference games, and instruction following.

Frank & Goodman (2012), "Predicting pragmatic reasoning in language games", Science 336:998; Goodman & Frank
(2016), "Pragmatic language interpretation as probabilistic inference", Trends Cogn Sci 20:818.

- literal listener  L0(r | u) ∝ [[u]](r) P(r)
- speaker           S_n(u | r) ∝ exp(alpha * (log L_{n-1}(r | u) - cost(u)))
- listener          L_n(r | u) ∝ S_n(u | r) P(r)

``depth`` n >= 1 is the number of speaker-listener recursions. :func:`instruction_listener` reads an
instruction as an utterance about the goals of a gridworld (a goal's features are the words true of it) and
returns the pragmatic listener's posterior over goals; :func:`instruction_accuracy` scores how often a
listener recovers the intended goal from a pragmatic speaker's instructions (intent inference under
ambiguous language).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from neurosafe.cognitive.errors import GameError

__all__ = [
    "RSAResult", "ReferenceGame", "gridworld_goals", "instruction_accuracy", "instruction_listener", "load_game", "rsa",
]


class _GameSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    referents: list[str] = Field(min_length=2)
    semantics: dict[str, list[str]] = Field(min_length=1, description="utterance -> referents it is true of")
    prior: dict[str, float] | None = None
    cost: dict[str, float] = Field(default_factory=dict)
    alpha: float = Field(1.0, gt=0)
    depth: int = Field(1, ge=1, le=20)


@dataclass(frozen=True)
class ReferenceGame:
    """Referents, utterances, truth table ``semantics`` (U, R), prior (R,) and utterance cost (U,)."""

    referents: list[str]
    utterances: list[str]
    semantics: np.ndarray
    prior: np.ndarray
    cost: np.ndarray
    alpha: float = 1.0
    depth: int = 1

    @classmethod
    def from_dict(cls, data: dict) -> ReferenceGame:
        try:
            spec = _GameSpec.model_validate(data)
        except ValidationError as err:
            first = err.errors()[0]
            raise GameError(f"bad game ({'.'.join(map(str, first['loc'])) or 'game'}): {first['msg']}") from err
        refs, utts = spec.referents, list(spec.semantics)
        unknown = sorted({r for rs in spec.semantics.values() for r in rs} - set(refs))
        if unknown:
            raise GameError(f"semantics name unknown referents {unknown} (referents: {refs})")
        sem = np.array([[r in spec.semantics[u] for r in refs] for u in utts], dtype=float)
        prior = np.ones(len(refs)) if spec.prior is None else np.array([spec.prior.get(r, 0.0) for r in refs])
        bad_cost = sorted(set(spec.cost) - set(utts))
        if bad_cost:
            raise GameError(f"cost names unknown utterances {bad_cost} (utterances: {utts})")
        return cls(refs, utts, sem, prior, np.array([spec.cost.get(u, 0.0) for u in utts]), spec.alpha, spec.depth)

    def __post_init__(self) -> None:
        if (self.semantics.sum(axis=1) == 0).any():
            bad = [u for u, row in zip(self.utterances, self.semantics, strict=True) if not row.any()]
            raise GameError(f"utterances true of no referent: {bad}")
        if (self.semantics.sum(axis=0) == 0).any():
            bad = [r for r, col in zip(self.referents, self.semantics.T, strict=True) if not col.any()]
            raise GameError(f"referents no utterance is true of (a speaker could not refer to them): {bad}")
        if (self.prior < 0).any() or self.prior.sum() <= 0 or not np.isfinite(self.prior).all():
            raise GameError("the referent prior must be non-negative with a positive sum")


@dataclass
class RSAResult:
    """Every level of the recursion: ``listeners[n]`` (U, R) = L_n, ``speakers[n - 1]`` (R, U) = S_n."""

    game: ReferenceGame
    listeners: list[np.ndarray] = field(default_factory=list)
    speakers: list[np.ndarray] = field(default_factory=list)

    @property
    def listener(self) -> np.ndarray:
        return self.listeners[-1]

    @property
    def speaker(self) -> np.ndarray:
        return self.speakers[-1]

    def to_dict(self) -> dict:
        g = self.game

        def table(m, rows, cols):
            return {r: dict(zip(cols, m[i].tolist(), strict=True)) for i, r in enumerate(rows)}

        return {"alpha": g.alpha, "depth": g.depth,
                "literal_listener": table(self.listeners[0], g.utterances, g.referents),
                "speaker": table(self.speaker, g.referents, g.utterances),
                "listener": table(self.listener, g.utterances, g.referents)}


def _normalise(m: np.ndarray, axis: int) -> np.ndarray:
    total = m.sum(axis=axis, keepdims=True)
    return np.divide(m, total, out=np.zeros_like(m), where=total > 0)


def rsa(game: ReferenceGame, alpha: float | None = None, depth: int | None = None) -> RSAResult:
    """Run the RSA recursion to ``depth`` (default the game's) at rationality ``alpha``."""
    alpha = game.alpha if alpha is None else alpha
    depth = game.depth if depth is None else depth
    if alpha <= 0 or depth < 1:
        raise GameError(f"need alpha > 0 and depth >= 1; got alpha={alpha}, depth={depth}")
    prior = game.prior / game.prior.sum()
    out = RSAResult(game, [_normalise(game.semantics * prior[None], axis=1)])
    for _ in range(depth):
        listener = out.listeners[-1]
        with np.errstate(divide="ignore"):
            utility = np.log(listener.T) - game.cost[None]  # (R, U)
        speaker = np.exp(alpha * (utility - utility.max(axis=1, keepdims=True)))
        speaker = _normalise(np.where(np.isfinite(utility), speaker, 0.0), axis=1)
        out.speakers.append(speaker)
        out.listeners.append(_normalise(speaker.T * prior[None], axis=1))
    return out


def load_game(source: str | Path | dict) -> ReferenceGame:
    """A :class:`ReferenceGame` from a JSON file or dict (see docs/cognitive.md); one-line errors."""
    if isinstance(source, dict):
        return ReferenceGame.from_dict(source)
    path = Path(source)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as err:
        raise GameError(f"game file not found: {path}") from err
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise GameError(f"game {path} is not valid JSON: {err}") from err
    if not isinstance(data, dict):
        raise GameError(f"game {path} must hold a JSON object")
    return ReferenceGame.from_dict(data)


def _goal_game(goals: dict[str, set[str] | list[str]], alpha: float, depth: int, prior: dict | None,
               cost: dict | None) -> ReferenceGame:
    words = sorted({w for feats in goals.values() for w in feats})
    semantics = {w: [g for g, feats in goals.items() if w in feats] for w in words}
    return ReferenceGame.from_dict({"referents": list(goals), "semantics": semantics, "prior": prior,
                                    "cost": cost or {}, "alpha": alpha, "depth": depth})


def gridworld_goals(world, objects: dict[str, tuple[tuple[int, int], list[str] | set[str]]]
                    ) -> dict[str, set[str]]:
    """Goals of a gridworld (name -> (cell, feature words)) with the spatial words true of their cells added:
    ``left``/``right`` and ``top``/``bottom`` (which half of the map, cells on the middle line get neither)."""
    height, width = world.shape
    goals = {}
    for name, (cell, features) in objects.items():
        world.index_of(cell, f"goal {name!r}")
        r, c = int(cell[0]), int(cell[1])
        words = {str(f).lower() for f in features}
        words |= {"left"} if 2 * c + 1 < width else {"right"} if 2 * c + 1 > width else set()
        words |= {"top"} if 2 * r + 1 < height else {"bottom"} if 2 * r + 1 > height else set()
        goals[name] = words
    return goals


def instruction_listener(goals: dict[str, set[str] | list[str]], instruction: str, alpha: float = 1.0,
                         depth: int = 1, prior: dict[str, float] | None = None,
                         cost: dict[str, float] | None = None) -> dict[str, float]:
    """Posterior over the goals (name -> features, e.g. {"A": {"red", "square"}}) that the instruction
    ("go to the red one" -> the word "red") refers to, by the depth-``depth`` pragmatic listener. Words of the
    instruction that name a feature are used; several feature words are a conjunction."""
    game = _goal_game(goals, alpha, depth, prior, cost)
    words = [w.strip(".,!?").lower() for w in instruction.split()]
    used = [w for w in words if w in game.utterances]
    if not used:
        raise GameError(f"the instruction {instruction!r} names no feature of the goals ({game.utterances})")
    result = rsa(game)
    post = np.prod([result.listener[game.utterances.index(w)] for w in used], axis=0)
    if post.sum() == 0:
        raise GameError(f"no goal fits every word of {instruction!r}")
    return dict(zip(game.referents, (post / post.sum()).tolist(), strict=True))


def instruction_accuracy(goals: dict[str, set[str] | list[str]], alpha: float = 1.0, depth: int = 1,
                         listener_depth: int | None = None) -> float:
    """Expected probability that a listener of ``listener_depth`` (0: literal) picks the intended goal when a
    depth-``depth`` speaker instructs it about a goal drawn from the uniform prior (one-word instructions)."""
    game = _goal_game(goals, alpha, depth, None, None)
    result = rsa(game)
    listener = result.listeners[depth if listener_depth is None else listener_depth]
    prior = game.prior / game.prior.sum()
    return float((prior[:, None] * result.speaker * listener.T).sum())
