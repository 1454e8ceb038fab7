"""Unit cards: one report section per unit with its MEI, orientation tuning curve, gradient RF and the effect of
ablating it, the summary that Olah et al.'s circuits work and Walker et al. 2019 show for a model neuron.

All four panels use the same unit definition (``neurosafe.interp``: a conv channel at the spatial centre; the
ablation removes the whole channel). The ablation effect is measured on ``score`` (default:
``orientation_decoding(..., margin=True)``: the held-out true-class margin of a fixed orientation readout fitted
on the intact site; a probe refitted after each lesion and scored 0/1 saturates, so one unit of many never
moved it, issue 18), with a bootstrap CI over items.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from neurosafe.core.figures import save_figure
from neurosafe.data.stimuli import StimulusSet
from neurosafe.interp import UnitResponder, differentiable, input_shape
from neurosafe.interp.features import top_natural_images
from neurosafe.interp.figures import plt
from neurosafe.interp.lesion import orientation_decoding, unit_ablation_effects
from neurosafe.interp.mei import AscentConfig, most_exciting_inputs
from neurosafe.interp.receptive_fields import receptive_fields
from neurosafe.interp.tuning import orientation_tuning
from neurosafe.report.html import Section, write_report

__all__ = ["unit_cards", "write_unit_cards"]


def unit_cards(subject, site: str | None, units: Sequence[int], out_dir: str | Path, *,
               score: Callable[[], np.ndarray] | None = None, config: AscentConfig | None = None,
               seed: int = 0, natural: StimulusSet | None = None, n_top: int = 4) -> list[Section]:
    """Compute the four panels for ``units`` and write one PNG per unit into ``out_dir``; return report sections
    (figure paths relative to ``out_dir``). With ``natural`` stimuli a fifth panel shows each unit's ``n_top``
    most-activating natural images (``interp.features.top_natural_images``). Dictionary features are units too:
    pass ``interp.features.feature_subject(...)`` with site ``"features"``."""
    out_dir = Path(out_dir)
    diff = differentiable(subject, site)
    shape = input_shape(diff, None)
    view = UnitResponder(diff)
    idx = np.asarray(units, dtype=int)
    tuning = orientation_tuning(view, size=shape[1]).isel(neuron=idx)
    rfs = receptive_fields(subject, site, method="gradient", units=idx, seed=seed)
    meis = most_exciting_inputs(subject, site, idx, config=config, seed=seed)
    default_score = score is None
    score = score or orientation_decoding(subject, site, shape[1], seed=seed, margin=True)
    effects = unit_ablation_effects(subject, site, idx, score, seed=seed)
    top = None if natural is None else top_natural_images(subject, site, natural, idx, k=min(n_top, len(natural)))
    sections = []
    for i, unit in enumerate(idx):
        uid = str(meis["neuron_id"].values[i])
        fig, ax = plt.subplots(1, 4 if top is None else 5, figsize=(12 if top is None else 15, 2.8))
        img = meis["image"].values[i]
        ax[0].imshow(img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0), cmap="gray", vmin=0, vmax=1)
        ax[0].set_title(f"MEI (response {meis['activation'].values[i]:.3g})", fontsize=8)
        curve = tuning["tuning"][i]
        ax[1].plot(curve.orientation.values, curve.values, marker="o")
        ax[1].set_title(f"pref {tuning['preferred_orientation'].values[i]:.0f} deg, OSI {tuning['osi'].values[i]:.2f}",
                        fontsize=8)
        ax[1].set_xlabel("orientation (deg)")
        rf = rfs["rf"].values[i]
        lim = np.abs(rf).max() or 1.0
        ax[2].imshow(rf, cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax[2].set_title(f"gradient RF (size {rfs['rf_size'].values[i]:.1f} px)", fontsize=8)
        e, lo, hi = (float(effects[k].values[i]) for k in ("effect", "ci_low", "ci_high"))
        ax[3].bar([0], [e], yerr=[[e - lo], [hi - e]], color="#C44E52", capsize=4)
        ax[3].axhline(0, color="k", lw=0.8)
        ax[3].set_xticks([])
        ax[3].set_title(f"ablation effect on {'readout margin' if default_score else 'score'} "
                        f"(intact {effects.attrs['intact']:.3f})", fontsize=8)
        if top is not None:
            ax[4].imshow(_montage(top["image"].values[i]), cmap="gray", vmin=0, vmax=1)
            ax[4].set_title(f"top {top.sizes['rank']} natural (max {top['activation'].values[i, 0]:.3g})", fontsize=8)
            ax[4].axis("off")
        for a in (ax[0], ax[2]):
            a.axis("off")
        name = f"unit_{int(unit)}.png"
        save_figure(fig, out_dir / name)
        table = [["measure", "value"], ["MEI response", f"{meis['activation'].values[i]:.4g}"],
                 ["preferred orientation (deg)", f"{tuning['preferred_orientation'].values[i]:.1f}"],
                 ["OSI", f"{tuning['osi'].values[i]:.3f}"],
                 ["RF centre (x, y) px", f"({rfs['rf_x'].values[i]:.1f}, {rfs['rf_y'].values[i]:.1f})"],
                 ["ablation effect [95% CI]", f"{e:+.4f} [{lo:+.4f}, {hi:+.4f}]"]]
        if top is not None:
            table.append(["top natural images", ", ".join(top["stimulus_id"].values[i])])
        sections.append(Section(heading=f"unit {uid}", table=table, figures=[name]))
    return sections


def _montage(images: np.ndarray) -> np.ndarray:
    """(k, C, H, W) images side by side as one (H, k*W[, 3]) picture."""
    row = np.concatenate(list(images), axis=-1)
    return row[0] if row.shape[0] == 1 else row.transpose(1, 2, 0)


def write_unit_cards(path: str | Path, subject, site: str | None, units: Sequence[int], **kwargs) -> Path:
    """Write an HTML report of unit cards to ``path`` (figures beside it); kwargs go to :func:`unit_cards`."""
    path = Path(path)
    sections = unit_cards(subject, site, units, path.parent, **kwargs)
    prov = {"experiment": "unit_cards", "site": str(site), "units": [int(u) for u in units],
            "subject": type(subject).__name__, "seed": kwargs.get("seed", 0)}
    where = site if site else "output units (neurons) of the subject"
    return write_report(path, f"Unit cards: {where}", sections, prov)
