"""The embodied Turing test on held-out trials (issue acceptance): the twin is not told apart from the animal
(C2ST accuracy <= 0.60) while a phase-scrambled twin is (>= 0.90); window features checked against numpy."""

from __future__ import annotations

import numpy as np

from neurosafe.embodied import PhaseScrambled, behaviour_windows, embodied_turing_test


def test_twin_passes_and_phase_scrambled_twin_fails(twin_fit, trials):
    _, _, test = trials
    good = embodied_turing_test(twin_fit.twin.policy(), test, seed=0, n_perm=200)
    wrong = embodied_turing_test(PhaseScrambled(twin_fit.twin.policy(), 6, seed=0), test, seed=0, n_perm=200)
    assert good.c2st.statistic <= 0.60
    assert good.verdict.startswith("indistinguishable")
    assert wrong.c2st.statistic >= 0.90
    assert wrong.c2st.p_value < 0.05 and wrong.mmd.p_value < 0.05
    assert "given away by" in wrong.verdict
    top = [name for name, _ in wrong.c2st.giveaways(wrong.feature_names, k=5)]
    assert any(name.startswith(("coordination", "mean speed", "angle spread", "forward")) for name in top)


def test_window_features_match_numpy(trials):
    _, _, test = trials
    feats, names = behaviour_windows(test.kinematics, test.kinematic_names, 6, window=20)
    assert feats.shape == (test.n_trials * 6, len(names))
    w = test.kinematics[1, 20:40]  # trial 1, second window
    row = feats[6 + 1]
    k = names.index("coordination bthigh-fshin")
    np.testing.assert_allclose(row[k], np.corrcoef(w[:, 0], w[:, 4])[0, 1], rtol=1e-6)
    np.testing.assert_allclose(row[names.index("angle spread bshin")], w[:, 1].std(), rtol=1e-9)
    np.testing.assert_allclose(row[names.index("mean speed ffoot")], np.abs(w[:, 11]).mean(), rtol=1e-9)
