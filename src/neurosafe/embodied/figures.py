"""Figures of embodied twins: trajectories (animal vs twin), alignment per layer, push-recovery curves, and a
frame strip of the body rendered offscreen by MuJoCo (EGL or OSMesa; skipped with a message where neither
works)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from neurosafe.core.figures import plt, save_figure
from neurosafe.embodied.body import BodyConfig, make_body

__all__ = ["alignment_figure", "frame_strip", "push_recovery_figure", "trajectory_figure"]


def trajectory_figure(animal_kin: np.ndarray, twin_kin: np.ndarray, names: list[str], path, dt: float,
                      joints: int = 3, trial: int = 0, wrong_kin: np.ndarray | None = None) -> Path:
    """Joint angles over time of one trial: the animal, the twin (and a wrong twin, when given)."""
    fig, axes = plt.subplots(joints, 1, figsize=(7, 1.6 * joints + 0.6), sharex=True)
    axes = np.atleast_1d(axes)
    t = np.arange(animal_kin.shape[1]) * dt
    for j, ax in enumerate(axes):
        ax.plot(t, animal_kin[trial, :, j], "k", lw=1.5, label="animal")
        ax.plot(t, twin_kin[trial, :, j], "C0", lw=1, label="twin")
        if wrong_kin is not None:
            ax.plot(t, wrong_kin[trial, :, j], "C3", lw=0.8, alpha=0.7, label="phase-scrambled twin")
        ax.set_ylabel(names[j].removeprefix("angle_") + " (rad)")
    axes[0].legend(loc="upper right", fontsize=7, ncol=3)
    axes[-1].set_xlabel("time (s)")
    fig.suptitle("Joint angles: animal vs twin (held-out trial)")
    return save_figure(fig, path)


def alignment_figure(table: list[dict], path) -> Path:
    """Predictivity (median Pearson r, 95% CI) of the animal's neurons from each twin layer and from
    kinematics, with the noise ceiling."""
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    names = [r["features"] for r in table]
    values = np.array([r["value"] for r in table])
    ci = np.array([r["ci"] if r["ci"] else (r["value"], r["value"]) for r in table])
    colors = ["0.5" if n == "kinematics" else "C0" for n in names]
    ax.bar(names, values, color=colors, yerr=np.abs(ci.T - values), capsize=3)
    ceil = table[0].get("ceiling")
    if ceil:
        ax.axhline(ceil, color="k", ls="--", lw=1, label="noise ceiling")
        ax.legend(fontsize=8)
    ax.set_ylabel("neural predictivity (median r)")
    ax.set_title("Twin layers vs kinematics")
    return save_figure(fig, path)


def push_recovery_figure(curves: dict[str, dict], path) -> Path:
    """Fraction of trials recovered vs push force, per agent (mean and range over seeds)."""
    fig, ax = plt.subplots(figsize=(5, 3.2))
    for k, (agent, c) in enumerate(curves.items()):
        force = np.asarray(c["force"])
        rec = np.atleast_2d(np.asarray(c["recovered"], dtype=float))
        mean = rec.mean(axis=0)
        ax.plot(force, mean, "o-", color=f"C{k}", label=agent)
        if rec.shape[0] > 1:
            ax.fill_between(force, rec.min(axis=0), rec.max(axis=0), color=f"C{k}", alpha=0.2)
    ax.set_xlabel("push force (N)")
    ax.set_ylabel("fraction recovered")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(fontsize=8)
    ax.set_title("Push recovery")
    return save_figure(fig, path)


def frame_strip(qpos: np.ndarray, body: BodyConfig, path, n_frames: int = 6, size: tuple[int, int] = (160, 240)
                ) -> Path | str:
    """A strip of ``n_frames`` rendered frames of a trajectory (qpos over time); returns the path, or a
    one-line reason when offscreen rendering is unavailable (no GPU/EGL or OSMesa on this machine)."""
    os.environ.setdefault("MUJOCO_GL", "egl")
    try:
        import mujoco

        b = make_body(body)
        renderer = mujoco.Renderer(b.model, *size)
        frames = []
        for q in qpos[np.linspace(0, len(qpos) - 1, n_frames).round().astype(int)]:
            b.data.qpos[:] = q
            mujoco.mj_forward(b.model, b.data)
            renderer.update_scene(b.data, camera="track" if body.body != "rodent" else -1)
            frames.append(renderer.render().copy())
        renderer.close()
    except Exception as err:  # any GL failure means: no offscreen rendering here
        return f"no frame strip: MuJoCo offscreen rendering is unavailable ({type(err).__name__}: {err})"
    fig, ax = plt.subplots(figsize=(1.6 * n_frames, 1.4))
    ax.imshow(np.concatenate(frames, axis=1))
    ax.axis("off")
    return save_figure(fig, path)
