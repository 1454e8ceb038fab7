"""Dictionary features as units: the feature subject computes the SAE's features of the site, its top natural
images are the argsort of its responses, and the unit cards render features with a top-natural-images panel."""

from __future__ import annotations

import numpy as np
import torch

from neurosafe.data import natural_patches
from neurosafe.interp import AscentConfig
from neurosafe.interp.dictionary import SAEConfig, learn_dictionary, site_samples
from neurosafe.interp.features import FEATURE_SITE, feature_subject, top_natural_images
from neurosafe.report.unit_cards import unit_cards


def test_feature_units_of_the_synthetic_brain_and_their_cards(brain, tmp_path):
    stimuli = natural_patches(300, 32, seed=5)
    x = site_samples(brain, None, stimuli)
    d = learn_dictionary(x, "topk", 16, seed=0, config=SAEConfig(k=3, epochs=5, batch_size=64))
    fs = feature_subject(brain, None, d)
    feats = fs.activations(torch.from_numpy(stimuli.images[:20]), [FEATURE_SITE])[FEATURE_SITE]
    np.testing.assert_allclose(feats.detach().numpy(), d.encode(x[:20]), rtol=1e-4, atol=1e-4)
    top = top_natural_images(fs, FEATURE_SITE, stimuli, units=[0, 3], k=5)
    order = np.argsort(-d.encode(x)[:, [0, 3]], axis=0, kind="stable")[:5].T
    np.testing.assert_array_equal(top["stimulus_id"].values, stimuli.ids[order])
    active = [int(i) for i in np.argsort(-(d.encode(x) > 0).mean(0))[:2]]
    probe = torch.from_numpy(stimuli.images[:30])

    def score():  # total feature activity per image: ablating an active feature lowers it
        with torch.no_grad():
            return fs.activations(probe, [FEATURE_SITE])[FEATURE_SITE].sum(1).numpy()

    sections = unit_cards(fs, FEATURE_SITE, active, tmp_path, config=AscentConfig(steps=10), score=score,
                          natural=stimuli)
    assert len(sections) == 2 and sections[0].heading.startswith("unit feature_")
    assert any(row[0] == "top natural images" for row in sections[0].table)
    assert (tmp_path / f"unit_{active[0]}.png").exists()
