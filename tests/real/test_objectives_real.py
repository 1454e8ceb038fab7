"""The objective comparison engine on the Kriegeskorte 92-image RDMs (tiny untrained networks: the wiring,
the subjects' noise ceiling and the metric-agreement statistic on real data)."""

import numpy as np
import pytest

from neurosafe.data.datasets import load_kriegeskorte92
from neurosafe.metrics.rsa import rsa_noise_ceiling
from neurosafe.objectives import ObjectiveConfig, build_network
from neurosafe.objectives.engine import compare_objectives


@pytest.mark.real
def test_compare_on_the_92_image_human_it_rdms(kriegeskorte_dir):
    rec = load_kriegeskorte92(kriegeskorte_dir)
    cfg = ObjectiveConfig(widths=(4, 8, 8), image_size=16)
    candidates = {f"{o}{s}": (o, build_network("random", cfg, 10 * i + s)) for i, o in enumerate("ab") for s in (0, 1)}
    result = compare_objectives(candidates, rec.stimuli.resized(16, grey=True), rdms=rec.extras["human_it"],
                                groups="subject", n_boot=30)
    ref = rec.extras["human_it"]
    test = np.sort(np.random.default_rng(0).permutation(92)[46:])  # score_layers' held-out half (seed 0)
    ids = list(ref.stimulus_a.values[test])
    upper = rsa_noise_ceiling(ref.sel(stimulus_a=ids, stimulus_b=ids), "spearman", groups="subject")[1]
    rsa = result.objective_table[result.objective_table.metric == "rsa"]
    assert rsa.ceiling.to_numpy() == pytest.approx([upper, upper])
    assert (rsa.value < upper).all() and 0 <= result.kendall_w <= 1 and result.consensus in ("a", "b")
