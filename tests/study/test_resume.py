"""A study killed with SIGKILL at random points of every stage, 10 times, ends with the numbers of an
uninterrupted run: finished stages come from the cache, the twin fit and network training resume from their
per-epoch checkpoints, and a write cut short leaves no half file behind.

Each run is a process (forked from one ``python -c`` that imported neurosafe) that logs when each stage
starts (record, twin fit, network training, evaluation). The uninterrupted reference run measures how long
each stage takes; each of the 10 killed runs waits until its target stage starts and is killed after a seeded
random fraction of that stage's duration.
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
    "twin": {"n_target_stimuli": 40, "config": {"train": {"epochs": 6, "progress": False}}},
    "task": {"n_test": 60, "train": {"epochs": 2, "progress": False}},
    "evaluation": {"pgd_eps": [0.0, 0.0157], "pgd_steps": 2, "n_eval": 20, "n_boot": 10,
                   "corruptions": ["gaussian_noise"]},
}

# A "zygote" process imports neurosafe once and forks one child per run (saving the import per run); a
# child logs "<stage> <monotonic time>" when a stage starts computing (cached stages log nothing) and "ckpt"
# when a per-epoch checkpoint is written; the zygote prints each child's pid and, when it ends, its exit
# code (-9 after SIGKILL).
ZYGOTE = """
import json, os, sys, time, traceback, warnings
warnings.simplefilter("ignore")
import torch
torch.set_num_threads(1)
import neurosafe.core.checkpoint as checkpoint
import neurosafe.twin
from neurosafe.study import StudyConfig, run_study, runner
log = None
def mark(stage, f, after=False):
    def wrapped(*a, **k):
        log.write("" if after else f"{stage} {time.monotonic()}\\n")
        out = f(*a, **k)
        log.write(f"{stage} {time.monotonic()}\\n" if after else "")
        return out
    return wrapped
checkpoint.save_state = mark("ckpt", checkpoint.save_state, after=True)
neurosafe.twin.fit_twin = mark("twin", neurosafe.twin.fit_twin)
runner.train_classifier = mark("train", runner.train_classifier)
runner.evaluate_network = mark("eval", runner.evaluate_network)
cfg = StudyConfig.model_validate(json.loads(sys.argv[1]))
for line in sys.stdin:
    root, log_path = line.rstrip("\\n").split("\\t")
    pid = os.fork()
    if pid == 0:
        code = 0
        log = open(log_path, "a", buffering=1)
        try:
            log.write(f"record {time.monotonic()}\\n")
            run_study(cfg, out_root=root, progress=False)
        except BaseException:
            traceback.print_exc()
            code = 1
        log.write(f"{'done' if code == 0 else 'error'} {time.monotonic()}\\n")
        os._exit(code)
    print(pid, flush=True)
    print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), flush=True)
"""
STAGES = ("record", "twin", "train", "eval")
# (stage, whether to kill only after this run wrote a checkpoint of it, i.e. in a later epoch)
# A stage's plain kills come before its after-checkpoint kill: a stage resumed from a checkpoint is shorter
# than the reference window, so a late plain kill there could overshoot the stage and use up a network.
PLAN = (("record", False), ("twin", False), ("twin", False), ("twin", True), ("train", False), ("eval", False),
        ("train", False), ("eval", False), ("train", True), ("eval", False))


class _Zygote:
    def __init__(self, folder: Path):
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
        self.stderr = open(folder / "zygote.err", "w")
        self.proc = subprocess.Popen([sys.executable, "-c", ZYGOTE, json.dumps(MINI_STUDY)], env=env, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr)
        self.running: tuple[int, Path] | None = None

    def start(self, root: Path, log: Path) -> int:
        self.proc.stdin.write(f"{root}\t{log}\n")
        self.proc.stdin.flush()
        pid = int(self.proc.stdout.readline())
        self.running = pid, log
        return pid

    def exit_code(self) -> int:
        line = self.proc.stdout.readline()
        assert line, Path(self.stderr.name).read_text()[-2000:]
        self.running = None
        return int(line)

    def close(self) -> None:
        if self.running is not None:  # a test failed while a run was going: end that run first
            pid, log = self.running
            if not {"done", "error"} & {e for e, _ in _events(log)}:
                os.kill(pid, signal.SIGKILL)
            self.exit_code()
        self.proc.stdin.close()
        self.proc.wait(timeout=60)
        self.stderr.close()


def _events(log: Path) -> list[tuple[str, float]]:
    if not log.exists():
        return []
    rows = [line.split() for line in log.read_text().splitlines()]
    return [(r[0], float(r[1])) for r in rows if len(r) == 2]


def _trigger(events: list[tuple[str, float]], stage: str, after_checkpoint: bool) -> float | None:
    """When the run started ``stage`` (or first checkpointed it); None while it has not."""
    for (s, t), (nxt, t_next) in itertools.pairwise([*events, ("", 0.0)]):
        if s == stage:
            return (t_next if nxt == "ckpt" else None) if after_checkpoint else t
    return None


def _numbers(folder: Path) -> dict:
    res = json.loads((folder / "results.json").read_text())
    res.pop("run")  # wall time and cache hits differ by design
    return res


def _run_to_end(zygote: _Zygote, root: Path, log: Path) -> None:
    zygote.start(root, log)
    assert zygote.exit_code() == 0, Path(zygote.stderr.name).read_text()[-2000:]


def _fractions(rng) -> list[float]:
    """Where in its stage each kill of PLAN falls: plain kills of one stage spread over the stage's shortest
    duration (stratified over its plain kills); after a checkpoint, within the first half of the next epoch.
    A stage that resumes from checkpoints (one with an after-checkpoint kill) is shortened by each earlier
    kill's progress, so its plain kills together stay within the first 55% of its duration: a later kill
    cannot overshoot the resumed stage, and an epoch and a half is left for the after-checkpoint kill."""
    out, seen = [], {}
    for stage, after_checkpoint in PLAN:
        k, n = seen.get(stage, 0), len([p for p in PLAN if p[0] == stage and not p[1]])
        if after_checkpoint:
            out.append(rng.uniform(0.0, 0.5))
            continue
        seen[stage] = k + 1
        spread = 0.5 if (stage, True) in PLAN else 0.85
        out.append(0.05 + spread * (k + rng.uniform()) / n)
    return out


def _mid_stage_checkpoints(cache: Path) -> set[str]:
    """Stages whose per-epoch checkpoint exists while the stage is unfinished."""
    found = set()
    if any(cache.glob("twin-*-ckpt/checkpoint.pt")) and not any(cache.glob("twin-*.json")):
        found.add("twin")
    if any(not (cache / f"net-{f.name[5:]}").exists() for f in cache.glob("ckpt-*.pt")):
        found.add("train")
    return found


def _epochs(events: list[tuple[str, float]]) -> dict[str, float]:
    """Shortest time between two checkpoints of one stage in the reference run: an epoch."""
    spans: dict[str, list[float]] = {}
    stage, last = None, None
    for name, t in events:
        if name != "ckpt":
            stage, last = name, None
            continue
        if last is not None:
            spans.setdefault(stage, []).append(t - last)
        last = t
    return {s: min(v) for s, v in spans.items()}


def _windows(events: list[tuple[str, float]]) -> dict[str, float]:
    """Shortest duration of each stage in the reference run (start to the next stage's start)."""
    spans: dict[str, list[float]] = {}
    for (stage, t), (_, t_next) in itertools.pairwise([e for e in events if e[0] != "ckpt"]):
        spans.setdefault(stage, []).append(t_next - t)
    return {s: min(v) for s, v in spans.items()}


def test_sigkill_at_random_points_of_every_stage_then_resume_equals_an_uninterrupted_run(tmp_path):
    zygote = _Zygote(tmp_path)
    try:
        _run_to_end(zygote, tmp_path / "reference", tmp_path / "reference.log")
        windows = _windows(_events(tmp_path / "reference.log"))
        epochs = _epochs(_events(tmp_path / "reference.log"))
        assert set(STAGES) <= set(windows)
        fractions = _fractions(make_rng(0, "sigkill-delays"))
        root, hit, resumable = tmp_path / "killed", [], set()
        for i, (target, after_checkpoint) in enumerate(PLAN):
            log = tmp_path / f"killed{i}.log"
            pid = zygote.start(root, log)
            deadline, start, events = time.monotonic() + 120, None, []
            while start is None and not {"done", "error"} & {e for e, _ in events} and time.monotonic() < deadline:
                events = _events(log)
                start = _trigger(events, target, after_checkpoint)
                time.sleep(0.005)
            assert start is not None, f"kill {i}: the run ended or stalled before its {target} stage"
            span = epochs[target] if after_checkpoint else windows[target]
            time.sleep(max(0.0, start + fractions[i] * span - time.monotonic()))
            os.kill(pid, signal.SIGKILL)
            assert zygote.exit_code() == -signal.SIGKILL, f"kill {i} came after the run ended"
            hit.append([e for e, _ in _events(log) if e != "ckpt"][-1])  # the stage in progress when killed
            resumable |= _mid_stage_checkpoints(root / "mini" / "cache")
        assert set(hit) == set(STAGES), hit
        assert resumable == {"twin", "train"}  # some kills came after an epoch's checkpoint: resumed mid-stage
        assert not (root / "mini" / "results.json").exists()
        _run_to_end(zygote, root, tmp_path / "final.log")
    finally:
        zygote.close()
    assert _numbers(root / "mini") == _numbers(tmp_path / "reference" / "mini")
