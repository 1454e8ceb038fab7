"""Sparse dictionaries: planted superposition recovered by the SAE (Sharkey et al. 2022's test), with
scikit-learn's dictionary learning as an independent peer on the same data; metrics against planted truth."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurosafe.interp import InterpError
from neurosafe.interp.causal import PlantedCircuit
from neurosafe.interp.dictionary import (
    Dictionary,
    SAEConfig,
    SparseAutoencoder,
    _resample,
    dictionary_metrics,
    downstream_loss,
    fit_sae,
    learn_dictionary,
    site_samples,
)
from neurosafe.interp.superposition import (
    TOY_SAE,
    MixedSelectivityBrain,
    mean_max_cosine,
    seed_score,
    toy_superposition,
)
from neurosafe.subjects import TorchSubject


def test_topk_sae_recovers_20_features_in_8_dims_over_5_seeds_and_beats_ica():
    mmcs, ica = [], []
    for seed in range(5):
        data = toy_superposition(20, 8, p=0.05, n_samples=4096, seed=seed)
        mmcs.append(mean_max_cosine(learn_dictionary(data.x, "topk", 40, seed=seed, config=TOY_SAE).atoms,
                                    data.directions))
        ica.append(mean_max_cosine(learn_dictionary(data.x, "ica", 8, seed=seed).atoms, data.directions))
    score = seed_score(np.array(mmcs), seed=0)
    assert score.value >= 0.9 and score.ci[0] >= 0.9, mmcs
    # ICA has at most d = 8 atoms for 20 features: it cannot resolve superposition
    assert all(m > i for m, i in zip(mmcs, ica, strict=True)), (mmcs, ica)


def test_relu_sae_and_sklearn_dictionary_learning_agree_on_the_planted_features():
    data = toy_superposition(20, 8, p=0.05, n_samples=8192, seed=11)
    relu = learn_dictionary(data.x, "sae", 40, seed=0,
                            config=SAEConfig(l1=1.0, lr=1e-2, batch_size=512, epochs=48, resample_every=50))
    assert mean_max_cosine(relu.atoms, data.directions) >= 0.9
    peer = learn_dictionary(data.x[:3000], "minibatch_dictionary_learning", 20, seed=0, alpha=0.05)
    assert mean_max_cosine(peer.atoms, data.directions) >= 0.8


def test_metrics_of_the_oracle_dictionary_match_the_planted_features():
    data = toy_superposition(20, 8, p=0.05, n_samples=2000, seed=3)
    lookup = {x.tobytes(): f for x, f in zip(data.x, data.features, strict=True)}
    oracle = Dictionary(data.directions, lambda a: np.stack([lookup[r.tobytes()] for r in a]),
                        lambda f: f @ data.directions, "oracle")
    m = dictionary_metrics(oracle, data.x)
    active = data.features > 0
    assert m["fve"] == pytest.approx(1.0, abs=1e-12)
    assert m["l0"] == pytest.approx(active.sum(1).mean())
    assert m["dead_fraction"] == pytest.approx((active.mean(0) == 0).mean())
    assert m["dense_fraction"] == pytest.approx((active.mean(0) > 0.1).mean()) and m["dense_fraction"] == 0


def test_decoder_norm_tied_weights_and_resampling_of_dead_features():
    x = toy_superposition(20, 8, p=0.05, n_samples=2048, seed=0).x
    sae = fit_sae(x, SAEConfig(n_latents=16, tied=True, epochs=2, batch_size=256), seed=0)
    assert sae.W_enc is None and torch.equal(sae.encoder(), sae.W_dec.t())
    assert torch.allclose(sae.W_dec.norm(dim=0), torch.ones(16), atol=1e-5)
    untied = SparseAutoencoder(8, SAEConfig(n_latents=10), torch.Generator().manual_seed(0))
    xt = torch.as_tensor(x, dtype=torch.float32)
    with torch.no_grad():
        untied.b_enc[:4] = -100.0
    dead = torch.zeros(10, dtype=torch.bool)
    dead[:4] = True
    assert not (untied.encode(xt)[:, :4] > 0).any()
    _resample(untied, dead, xt, torch.Generator().manual_seed(0))
    assert (untied.encode(xt)[:, :4] > 0).any(0).all()  # every resampled latent fires again
    assert torch.allclose(untied.W_dec[:, :4].norm(dim=0), torch.ones(4), atol=1e-5)


def test_downstream_loss_identity_splice_is_clean_and_zero_splice_is_zero():
    net = PlantedCircuit(seed=0)
    x = torch.rand(64, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    target = net(x).detach()

    def loss(out):
        return ((out - target) ** 2).mean()

    identity = Dictionary(np.eye(24), lambda a: a, lambda f: f, "identity")
    res = downstream_loss(net, "act1", identity, x, loss)
    assert res["clean"] == pytest.approx(0.0, abs=1e-10) and res["spliced"] == pytest.approx(0.0, abs=1e-10)
    assert res["loss_recovered"] == pytest.approx(1.0)
    acts = site_samples(net, "act1", x)
    sae = learn_dictionary(acts, "topk", 32, seed=0, config=SAEConfig(k=8, epochs=30, batch_size=32))
    partial = downstream_loss(net, "act1", sae, x, loss)
    assert partial["clean"] <= partial["spliced"] < partial["zero_ablated"]
    with pytest.raises(InterpError, match="unknown site"):
        downstream_loss(net, "nonexistent_site_x", identity, x, loss)


def test_site_samples_of_a_conv_site_and_of_a_recording():
    conv = torch.nn.Sequential(torch.nn.Conv2d(1, 3, 3, padding=1), torch.nn.ReLU())
    x = torch.rand(5, 1, 6, 6, generator=torch.Generator().manual_seed(0))
    got = site_samples(TorchSubject(conv, progress=False), "1", x)
    want = conv(x).detach().permute(0, 2, 3, 1).reshape(-1, 3).double().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-6)
    rec = MixedSelectivityBrain(seed=0).record(50, repeats=3, seed=1)
    np.testing.assert_allclose(site_samples(rec), rec.mean("repeat").values)
    with pytest.raises(InterpError, match="dictionary method"):
        learn_dictionary(got, "pca")


def test_sae_epochs_show_as_plain_lines_when_not_a_terminal(progress_lines):
    x = np.random.default_rng(0).normal(size=(64, 4))
    fit_sae(x, SAEConfig(n_latents=8, epochs=3, batch_size=32), seed=0, progress=None)
    lines = progress_lines()
    assert lines[0] == "SAE epochs: started, 3 epochs" and lines[-1].startswith("SAE epochs: 3/3 epochs")
    fit_sae(x, SAEConfig(n_latents=8, epochs=3, batch_size=32), seed=0)  # progress=False by default
    assert progress_lines() == lines
