"""Real data: the 92-image RDMs against rsatoolbox, and zoo networks predicting Cowley et al.'s V4 neurons."""

import warnings

import numpy as np
import pytest
import torch
from rsatoolbox.inference import boot_noise_ceiling
from rsatoolbox.rdm import RDMs, compare
from sklearn.linear_model import RidgeCV

from neurosafe.data import load_cowley2023, load_kriegeskorte92
from neurosafe.metrics import (
    DEFAULT_ALPHAS,
    compare_rdms,
    ridge_predictivity,
    rsa_noise_ceiling,
    rsa_score,
    split_half_reliability,
    stimulus_folds,
)
from neurosafe.subjects import TorchSubject, zoo

pytestmark = pytest.mark.real

PEER_METHOD = {"spearman": "spearman", "pearson": "corr", "kendall_tau_a": "tau-a", "cosine": "cosine",
               "whitened_pearson": "corr_cov"}


@pytest.fixture(scope="module")
def rdms92(kriegeskorte_dir):
    extras = load_kriegeskorte92(kriegeskorte_dir).extras
    return extras["monkey_it"], extras["human_it"]


@pytest.mark.parametrize("method", list(PEER_METHOD))
def test_monkey_vs_human_it_and_noise_ceiling_equal_rsatoolbox(rdms92, method):
    monkey, human = rdms92
    peer_method = PEER_METHOD[method]
    ours = compare_rdms(monkey, human, method)
    np.testing.assert_allclose(ours, compare(RDMs(monkey.values), RDMs(human.values), peer_method), atol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # rsatoolbox's tau noise-ceiling note
        by_rdm = boot_noise_ceiling(RDMs(human.values), method=peer_method)
        by_subject = boot_noise_ceiling(RDMs(human.values, rdm_descriptors={"subject": human.subject.values}),
                                        method=peer_method, rdm_descriptor="subject")
    np.testing.assert_allclose(rsa_noise_ceiling(human, method), by_rdm, atol=1e-6)
    np.testing.assert_allclose(rsa_noise_ceiling(human, method, groups="subject"), by_subject, atol=1e-6)
    score = rsa_score(monkey, human, method=method, groups="subject", n_boot=0)
    assert score.value == pytest.approx(ours.mean()) and score.ceiling == pytest.approx(by_subject[1])


def test_monkey_it_is_related_to_human_it_below_the_ceiling(rdms92):
    monkey, human = rdms92
    score = rsa_score(monkey, human, groups="subject", n_boot=200)
    lower = score.provenance["noise_ceiling_lower"]
    assert 0 < score.ci[0] and score.ci[1] < score.ceiling and 0 < lower < score.ceiling


def _half_resolution(x: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.avg_pool2d(x, 2)


@pytest.fixture(scope="module")
def v4(cowley_dir):
    rec = load_cowley2023(cowley_dir)
    features = {}
    for name, sites in (("v1_frontend", ["gabor", "normalize"]), ("cnn_small", ["pool2"])):
        subject = TorchSubject(zoo.get_model(name, seed=0, in_channels=3), transform=_half_resolution, pool=8)
        features.update({f"{name}.{site}": da for site, da in subject.extract(rec.stimuli, sites).items()})
    return rec.responses, features


def test_zoo_sites_predict_v4_with_ceilings(v4):
    responses, features = v4
    reliability = split_half_reliability(responses, n_boot=0).per_unit.values
    scores = {name: ridge_predictivity(f, responses, n_boot=100) for name, f in features.items()}
    for score in scores.values():
        assert score.ceiling == pytest.approx(np.nanmedian(np.sqrt(np.where(reliability > 0, reliability, np.nan))))
        assert 0 < score.ceiled_value < 1
    best = features["v1_frontend.normalize"]
    order = np.random.default_rng(0).permutation(len(best))
    shuffled = ridge_predictivity(best.copy(data=best.values[order]), responses, n_boot=100)
    assert abs(shuffled.value) < 0.05 and min(s.ci[0] for s in scores.values()) > shuffled.ci[1] + 0.1
    # the normalized V1 channels predict V4 better than the raw linear Gabor outputs
    assert scores["v1_frontend.normalize"].ci[0] > scores["v1_frontend.gabor"].ci[1]


def test_real_v4_predictivity_equals_a_scikit_learn_pipeline(v4):
    responses, features = v4
    f = features["v1_frontend.gabor"]
    ours = ridge_predictivity(f, responses, n_boot=0).per_unit.values
    x, y = f.values.astype(np.float64), responses.mean("repeat").values
    per_fold = []
    for test in stimulus_folds(len(y), 5, seed=0):
        train = np.setdiff1d(np.arange(len(y)), test)
        pred = RidgeCV(alphas=DEFAULT_ALPHAS, alpha_per_target=True).fit(x[train], y[train]).predict(x[test])
        per_fold.append([np.corrcoef(pred[:, j], y[test, j])[0, 1] for j in range(y.shape[1])])
    np.testing.assert_allclose(ours, np.mean(per_fold, axis=0), atol=1e-6)
