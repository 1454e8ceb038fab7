"""A study killed with SIGKILL at random points of every stage, 10 times, ends with the numbers of an
uninterrupted run: finished stages come from the cache, the twin fit and network training resume from their
per-epoch checkpoints, and a write cut short leaves no half file behind.

Each run is a subprocess (``python -c``) that logs when each stage starts (record, twin fit, network training,
evaluation). The uninterrupted reference run measures how long each stage takes; each of the 10 killed runs
waits until its target stage starts and is killed after a seeded random fraction of that stage's duration.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from neurosafe.core.seeds import make_rng

MINI_STUDY = {
    "name": "mini",
    "seeds": [0],
    "controls": ["shuffled"],
    "brain": {"n_neurons": 16},
    "recording": {"n_train": 120, "repeats_train": 2, "n_test": 30, "repeats_test": 4},
    "twin": {"max_epochs": 3, "n_target_stimuli": 40},
    "task": {"epochs": 2, "n_test": 60},
    "evaluation": {"pgd_eps": [0.0, 0.0157], "pgd_steps": 2, "n_eval": 20, "n_boot": 10,
                   "corruptions": ["gaussian_noise"]},
}

# the child logs "<stage> <monotonic time>" when a stage starts computing (cached stages log nothing)
CHILD = """
import json, sys, time, warnings
warnings.simplefilter("ignore")
import torch
torch.set_num_threads(1)
import neurosafe.twin
from neurosafe.study import StudyConfig, run_study, runner
log = open(sys.argv[2], "a", buffering=1)
def mark(stage, f):
    def wrapped(*a, **k):
        log.write(f"{stage} {time.monotonic()}\\n")
        return f(*a, **k)
    return wrapped
neurosafe.twin.fit_twin = mark("twin", neurosafe.twin.fit_twin)
runner.train_classifier = mark("train", runner.train_classifier)
runner.evaluate_network = mark("eval", runner.evaluate_network)
cfg = StudyConfig.model_validate(json.loads(sys.argv[3]))
log.write(f"record {time.monotonic()}\\n")
run_study(cfg, out_root=sys.argv[1], progress=False)
log.write(f"done {time.monotonic()}\\n")
"""
STAGES = ("record", "twin", "train", "eval")
PLAN = ("record", "twin", "twin", "twin", "train", "eval", "train", "eval", "train", "eval")


def _start(root: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    return subprocess.Popen([sys.executable, "-c", CHILD, str(root), str(log), json.dumps(MINI_STUDY)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _events(log: Path) -> list[tuple[str, float]]:
    if not log.exists():
        return []
    rows = [line.split() for line in log.read_text().splitlines()]
    return [(r[0], float(r[1])) for r in rows if len(r) == 2]


def _numbers(folder: Path) -> dict:
    res = json.loads((folder / "results.json").read_text())
    res.pop("run")  # wall time and cache hits differ by design
    return res


def _run_to_end(root: Path, log: Path) -> None:
    proc = _start(root, log)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()[-2000:]


def _windows(events: list[tuple[str, float]]) -> dict[str, float]:
    """Mean duration of each stage in the reference run (start to the next stage's start)."""
    spans: dict[str, list[float]] = {}
    for (stage, t), (_, t_next) in itertools.pairwise(events):
        spans.setdefault(stage, []).append(t_next - t)
    return {s: sum(v) / len(v) for s, v in spans.items()}


def test_sigkill_at_random_points_of_every_stage_then_resume_equals_an_uninterrupted_run(tmp_path):
    _run_to_end(tmp_path / "reference", tmp_path / "reference.log")
    windows = _windows(_events(tmp_path / "reference.log"))
    assert set(STAGES) <= set(windows)
    rng = make_rng(0, "sigkill-delays")
    root, hit = tmp_path / "killed", []
    for i, target in enumerate(PLAN):
        log = tmp_path / f"killed{i}.log"
        proc = _start(root, log)
        deadline = time.monotonic() + 120
        start = None
        while start is None and proc.poll() is None and time.monotonic() < deadline:
            start = next((t for s, t in _events(log) if s == target), None)
            time.sleep(0.005)
        assert start is not None, f"kill {i}: the run ended or stalled before its {target} stage"
        time.sleep(max(0.0, start + rng.uniform(0.1, 0.7) * windows[target] - time.monotonic()))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL, f"kill {i} came after the run ended"
        hit.append(_events(log)[-1][0])  # the stage in progress when it was killed
    assert set(hit) == set(STAGES), hit
    assert not (root / "mini" / "results.json").exists()
    _run_to_end(root, tmp_path / "final.log")
    assert _numbers(root / "mini") == _numbers(tmp_path / "reference" / "mini")
