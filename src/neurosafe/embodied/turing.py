"""The embodied Turing test (Zador et al. 2023, "Catalyzing next-generation artificial intelligence through
NeuroAI", Nature Communications 14:1597): can anything tell the twin's movement from the animal's?

Behaviour is cut into non-overlapping windows; each window becomes a vector of behavioural features (per
joint: mean and spread of the angle and mean speed; gait: forward velocity, height, pitch; coordination:
the correlation of every pair of joint angles, which is what a gait's phase relations look like). The two
samples of windows are compared with a classifier two-sample test (C2ST, Lopez-Paz & Oquab 2017) and an MMD
permutation test (Gretton et al. 2012), both from :mod:`neurosafe.metrics.two_sample`. The verdict says
"indistinguishable at n windows" or names the features that give the twin away (per-feature AUROC).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

from neurosafe.embodied.animal import Behaviour
from neurosafe.embodied.body import EmbodiedError
from neurosafe.embodied.rollout import Policy, rollout
from neurosafe.metrics.two_sample import TwoSampleTest, c2st, mmd

__all__ = ["TuringTest", "behaviour_windows", "embodied_turing_test", "turing_test"]


def behaviour_windows(kinematics: np.ndarray, names: list[str], n_act: int, window: int = 20
                      ) -> tuple[np.ndarray, list[str]]:
    """Feature vectors (n_windows, n_features) of non-overlapping ``window``-step windows of kinematics
    (trial, time, k) in the layout of :meth:`Body.kinematics`; returns the features and their names."""
    kin = np.asarray(kinematics, dtype=float)
    if kin.ndim != 3 or kin.shape[2] != 3 * n_act + 3:
        raise EmbodiedError(f"kinematics must be (trial, time, {3 * n_act + 3}); got shape {kin.shape}")
    if not 2 <= window <= kin.shape[1]:
        raise EmbodiedError(f"window must lie in [2, {kin.shape[1]}] steps; got {window}")
    n_win = kin.shape[1] // window
    w = kin[:, : n_win * window].reshape(kin.shape[0] * n_win, window, kin.shape[2])
    angles, speeds = w[..., :n_act], np.abs(w[..., n_act: 2 * n_act])
    joints = [n.removeprefix("angle_") for n in names[:n_act]]
    feats = [angles.mean(1), angles.std(1), speeds.mean(1), w[..., -3].mean(1, keepdims=True),
             w[..., -3].std(1, keepdims=True), w[..., -2].mean(1, keepdims=True), w[..., -1].mean(1, keepdims=True),
             w[..., -1].std(1, keepdims=True)]
    labels = ([f"mean angle {j}" for j in joints] + [f"angle spread {j}" for j in joints]
              + [f"mean speed {j}" for j in joints]
              + ["forward velocity", "forward velocity spread", "height", "pitch", "pitch spread"])
    centred = angles - angles.mean(1, keepdims=True)
    norm = np.sqrt((centred**2).sum(1)) + 1e-9
    for a, b in combinations(range(n_act), 2):
        feats.append(((centred[..., a] * centred[..., b]).sum(1) / (norm[:, a] * norm[:, b]))[:, None])
        labels.append(f"coordination {joints[a]}-{joints[b]}")
    return np.concatenate(feats, axis=1), labels


@dataclass
class TuringTest:
    """C2ST and MMD results, the feature names and the verdict."""

    c2st: TwoSampleTest
    mmd: TwoSampleTest
    feature_names: list[str]
    n_windows: tuple[int, int]
    alpha: float = 0.05

    @property
    def verdict(self) -> str:
        if self.c2st.indistinguishable(self.alpha) and self.mmd.indistinguishable(self.alpha):
            return (f"indistinguishable at n = {self.n_windows[0]} + {self.n_windows[1]} windows (C2ST accuracy "
                    f"{self.c2st.statistic:.2f}, p = {self.c2st.p_value:.3g}; MMD p = {self.mmd.p_value:.3g})")
        worst = self.c2st if not self.c2st.indistinguishable(self.alpha) else self.mmd
        top = ", ".join(f"{n} (AUROC {a:.2f})" for n, a in worst.giveaways(self.feature_names, k=3))
        return (f"distinguishable at n = {self.n_windows[0]} + {self.n_windows[1]} windows (C2ST accuracy "
                f"{self.c2st.statistic:.2f}, p = {self.c2st.p_value:.3g}; MMD p = {self.mmd.p_value:.3g}); "
                f"given away by {top}")

    def to_dict(self) -> dict:
        return {"verdict": self.verdict, "n_windows": list(self.n_windows), "alpha": self.alpha,
                "c2st": self.c2st.to_dict(), "mmd": self.mmd.to_dict(), "feature_names": self.feature_names,
                "giveaways": self.c2st.giveaways(self.feature_names, k=5)}


def turing_test(animal_kinematics: np.ndarray, twin_kinematics: np.ndarray, names: list[str], n_act: int,
                window: int = 20, seed: int = 0, n_perm: int = 1000, alpha: float = 0.05) -> TuringTest:
    """C2ST and MMD between the windows of the animal's and the twin's kinematics (trial, time, k)."""
    x, feature_names = behaviour_windows(animal_kinematics, names, n_act, window)
    y, _ = behaviour_windows(twin_kinematics, names, n_act, window)
    return TuringTest(c2st(x, y, seed=seed, n_perm=n_perm), mmd(x, y, seed=seed, n_perm=n_perm), feature_names,
                      (len(x), len(y)), alpha)


def embodied_turing_test(policy: Policy, behaviour: Behaviour, window: int = 20, seed: int = 0,
                         n_perm: int = 1000, alpha: float = 0.05) -> TuringTest:
    """The twin (``policy``) replays the held-out ``behaviour``'s trials; its windows are tested against the
    animal's own windows of the same trials."""
    run = rollout(policy, behaviour)
    n_act = behaviour.actions.shape[-1]
    return turing_test(behaviour.kinematics, run.kinematics, behaviour.kinematic_names, n_act, window, seed,
                       n_perm, alpha)
