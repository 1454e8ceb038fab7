"""Unit cards of the synthetic brain at its output: titled by what they show, with a nonzero ablation effect."""

from __future__ import annotations

import re

import torch

from neurosafe.data import SyntheticBrain
from neurosafe.interp import AscentConfig
from neurosafe.report.unit_cards import write_unit_cards


def test_cards_at_the_output_name_it_and_show_an_ablation_effect(tmp_path):
    """Issue 18: the cards were titled "Unit cards: None" and every ablation read +0.0000 [+0.0000, +0.0000]. The
    brain has the CLI's default 100 cells: there a refitted probe's accuracy did not move for any one cell."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        brain = SyntheticBrain(n_neurons=100, area="V1", seed=0)
        html = write_unit_cards(tmp_path / "cards.html", brain, None, [0, 3], config=AscentConfig(steps=5)
                                ).read_text()
    finally:
        torch.set_num_threads(threads)
    assert "Unit cards: None" not in html and "Unit cards: output units (neurons) of the subject" in html
    effects = re.findall(r"([+-]\d\.\d{4}) \[([+-]\d\.\d{4}), ([+-]\d\.\d{4})\]", html)
    assert len(effects) == 2 and any(float(e) != 0.0 for e, _, _ in effects), effects
