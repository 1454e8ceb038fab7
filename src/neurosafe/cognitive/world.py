"""Worlds and scenarios of the food-truck paradigm (Baker, Jara-Ettinger, Saxe & Tenenbaum 2017).

A :class:`GridWorld` is a map of free cells and walls with named parking spots; line of sight runs between
cell centres and is blocked by wall cells (:meth:`GridWorld.visible`). A :class:`Scenario` is plain data (the
JSON schema in docs/cognitive.md): the map, the spots and which truck type stands at each, the truck
types, the agent's start and its observed path. ``Scenario.hypotheses()`` lists the worlds the agent considers
possible: spots seen from the start hold what they hold; hidden spots hold any type not seen at the start or
nothing; a world with no truck at all is left out (the agent could never eat).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from itertools import product
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from neurosafe.cognitive.errors import ScenarioError

__all__ = ["MOVES", "GridWorld", "ModelSettings", "Scenario", "load_scenario"]

MOVES: tuple[tuple[int, int], ...] = ((-1, 0), (1, 0), (0, -1), (0, 1))  # up, down, left, right
EMPTY = -1  # content code of a spot without a truck


@dataclass(frozen=True)
class GridWorld:
    """Free cells and walls (``rows``: strings, ``#`` a wall) with parking ``spots`` (name -> (row, col))."""

    rows: tuple[str, ...]
    spots: dict[str, tuple[int, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.rows or len({len(r) for r in self.rows}) != 1:
            raise ScenarioError("map rows must be non-empty strings of equal length")
        bad = set("".join(self.rows)) - set(".#")
        if bad:
            raise ScenarioError(f"map may hold only '.' (free) and '#' (wall); found {sorted(bad)}")
        for name, cell in self.spots.items():
            self.index_of(cell, f"spot {name!r}")

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.rows), len(self.rows[0])

    @cached_property
    def wall(self) -> np.ndarray:
        return np.array([[ch == "#" for ch in row] for row in self.rows])

    @cached_property
    def cells(self) -> list[tuple[int, int]]:
        """Free cells in row-major order; a state is an index into this list."""
        return [(int(r), int(c)) for r, c in zip(*np.nonzero(~self.wall), strict=True)]

    @cached_property
    def _index(self) -> dict[tuple[int, int], int]:
        return {cell: i for i, cell in enumerate(self.cells)}

    def index_of(self, cell, what: str = "cell") -> int:
        """State index of a free cell; a one-line error for cells off the map or in a wall."""
        try:
            key = (int(cell[0]), int(cell[1]))
        except (TypeError, ValueError, IndexError) as err:
            raise ScenarioError(f"{what} must be [row, col]; got {cell!r}") from err
        if key not in self._index:
            where = "off the map" if not (0 <= key[0] < self.shape[0] and 0 <= key[1] < self.shape[1]) else "a wall"
            raise ScenarioError(f"{what} {list(key)} is {where} (map is {self.shape[0]} x {self.shape[1]})")
        return self._index[key]

    @cached_property
    def transitions(self) -> np.ndarray:
        """(n_cells, 4) next state of each move; -1 where the move hits a wall or the edge."""
        out = np.full((len(self.cells), len(MOVES)), -1, dtype=np.int64)
        for i, (r, c) in enumerate(self.cells):
            for a, (dr, dc) in enumerate(MOVES):
                out[i, a] = self._index.get((r + dr, c + dc), -1)
        return out

    def visible(self, a: tuple[int, int], b: tuple[int, int]) -> bool:
        """Line of sight between the centres of cells ``a`` and ``b``: no wall cell on the segment (sampled
        at 8 points per cell of length; a segment through a wall corner counts as blocked)."""
        (r0, c0), (r1, c1) = a, b
        n = 8 * max(abs(r1 - r0), abs(c1 - c0)) + 1
        t = np.linspace(0.0, 1.0, n)
        rr, cc = r0 + 0.5 + t * (r1 - r0), c0 + 0.5 + t * (c1 - c0)
        eps = 1e-9  # a point on a cell border touches both cells
        for dr, dc in ((-eps, -eps), (-eps, eps), (eps, -eps), (eps, eps)):
            if self.wall[np.floor(rr + dr).astype(int).clip(0, self.shape[0] - 1),
                         np.floor(cc + dc).astype(int).clip(0, self.shape[1] - 1)].any():
                return False
        return True

    @cached_property
    def visibility(self) -> np.ndarray:
        """(n_cells, n_spots) bool: which spots each free cell sees (a spot always sees itself)."""
        names = list(self.spots)
        return np.array([[self.visible(cell, self.spots[s]) for s in names] for cell in self.cells], dtype=bool)


class ModelSettings(BaseModel):
    """Free parameters of the BToM observer model (defaults as used in the worked example)."""

    model_config = ConfigDict(extra="forbid")
    beta: float = Field(1.0, gt=0, description="Boltzmann rationality of the agent's action choices")
    cost: float = Field(1.0, ge=0, description="cost of one step")
    desire_levels: list[float] = Field(default_factory=lambda: [0.0, 5.0, 10.0, 15.0, 20.0],
                                       min_length=2, description="grid of each truck type's utility")
    belief_resolution: int = Field(10, ge=1, le=60, description="the belief simplex is gridded in steps of 1/n")

    @model_validator(mode="after")
    def _levels(self) -> ModelSettings:
        if len(set(self.desire_levels)) < 2:
            raise ValueError(f"desire_levels need at least two distinct values; got {self.desire_levels}")
        return self


class Scenario(BaseModel):
    """One food-truck stimulus (plain data; see docs/cognitive.md for the JSON schema)."""

    model_config = ConfigDict(extra="forbid")
    name: str = "scenario"
    map: list[str] = Field(min_length=1, description="rows of '.' (free) and '#' (wall)")
    spots: dict[str, tuple[int, int]] = Field(min_length=1, description="parking spot name -> [row, col]")
    trucks: dict[str, str | None] = Field(default_factory=dict, description="spot -> truck type (absent: empty)")
    types: list[str] = Field(default_factory=lambda: ["K", "L", "M"], min_length=2)
    start: tuple[int, int]
    path: list[tuple[int, int]] = Field(default_factory=list, description="cells after the start, one step each")
    complete: bool = Field(True, description="the path ends with the agent eating at its last cell")
    model: ModelSettings = Field(default_factory=ModelSettings)

    @model_validator(mode="after")
    def _check(self) -> Scenario:
        unknown = {s for s in self.trucks if s not in self.spots}
        if unknown:
            raise ValueError(f"trucks name unknown spots {sorted(unknown)} (spots: {sorted(self.spots)})")
        types = {t for t in self.trucks.values() if t is not None} - set(self.types)
        if types:
            raise ValueError(f"unknown truck types {sorted(types)} (types: {self.types})")
        if len(set(self.types)) != len(self.types):
            raise ValueError(f"truck types must be distinct; got {self.types}")
        return self

    @cached_property
    def world(self) -> GridWorld:
        return GridWorld(tuple(self.map), dict(self.spots))

    @property
    def spot_names(self) -> list[str]:
        return list(self.spots)

    def content(self) -> np.ndarray:
        """True content code of each spot: the type's index, or ``EMPTY``."""
        t = {name: i for i, name in enumerate(self.types)}
        return np.array([t[self.trucks[s]] if self.trucks.get(s) else EMPTY for s in self.spot_names])

    def states(self) -> np.ndarray:
        """State indices of the start and every path cell, checked to be one step apart."""
        world = self.world
        cells = [self.start, *self.path]
        idx = [world.index_of(c, "start" if i == 0 else f"path step {i}") for i, c in enumerate(cells)]
        for i in range(1, len(idx)):
            if idx[i] not in world.transitions[idx[i - 1]]:
                raise ScenarioError(f"path step {i} {list(cells[i])} is not one move from {list(cells[i - 1])}")
        if self.complete:
            last = cells[-1]
            spot = [s for s in self.spot_names if tuple(self.spots[s]) == tuple(last)]
            if not spot or not self.trucks.get(spot[0]):
                raise ScenarioError(f"a complete path must end at a spot with a truck; it ends at {list(last)}")
        return np.array(idx)

    def hypotheses(self) -> np.ndarray:
        """(n_worlds, n_spots) contents the agent considers possible; the true world is among them."""
        vis = self.world.visibility[self.world.index_of(self.start, "start")]
        truth = self.content()
        seen_types = {int(truth[k]) for k in range(len(truth)) if vis[k] and truth[k] != EMPTY}
        hidden_options = [EMPTY, *[i for i in range(len(self.types)) if i not in seen_types]]
        options = [[int(truth[k])] if vis[k] else hidden_options for k in range(len(truth))]
        worlds = []
        for w in product(*options):
            trucks = [x for x in w if x != EMPTY]
            if trucks and len(trucks) == len(set(trucks)):
                worlds.append(w)
        return np.array(worlds, dtype=np.int64)


def load_scenario(source: str | Path | dict) -> Scenario:
    """A :class:`Scenario` from a JSON file, a JSON string or a dict; one-line errors."""
    if isinstance(source, dict):
        data = source
    else:
        path = Path(source)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError as err:
            raise ScenarioError(f"scenario file not found: {path}") from err
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ScenarioError(f"scenario {path} is not valid JSON: {err}") from err
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "scenario"
        raise ScenarioError(f"bad scenario ({where}): {first['msg']}") from err
    scenario.world  # noqa: B018 - validates the map and spots
    scenario.states()
    return scenario
