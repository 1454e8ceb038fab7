import json

import pytest

from neurosafe.core.errors import NeurosafeError
from neurosafe.twin import (
    FeatureCoreConfig,
    ReadoutConfig,
    StackedCoreConfig,
    TwinConfig,
    TwinConfigError,
    TwinTrainConfig,
)


def test_round_trip_through_json():
    cfg = TwinConfig(
        core=StackedCoreConfig(channels=8, kernel_sizes=(9, 3)),
        readout=ReadoutConfig(kind="factorized"),
        train=TwinTrainConfig(lr=1e-3, loss="gaussian"),
        output="softplus",
        modulator=("run",),
        image_size=24,
    )
    again = TwinConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg
    feat = TwinConfig(core=FeatureCoreConfig(site="layer2", pool=2, kernel_sizes=(3,)), grey=False)
    assert TwinConfig.from_dict(json.loads(json.dumps(feat.to_dict()))) == feat


def test_partial_dict_fills_defaults():
    cfg = TwinConfig.from_dict({"train": {"epochs": 5}, "readout": {"kind": "factorized"}})
    assert cfg.train.epochs == 5 and cfg.readout.kind == "factorized"
    assert cfg.core == StackedCoreConfig() and cfg.train.lr == TwinTrainConfig().lr


@pytest.mark.parametrize(
    "data, fragment",
    [
        ({"cores": {}}, "unknown twin option"),
        ({"train": {"max_epochs": 3}}, "unknown train option"),  # one name: epochs
        ({"core": {"kind": "transformer"}}, "core.kind"),
        ({"readout": {"kind": "dense"}}, "readout.kind"),
        ({"output": "relu"}, "output"),
        ({"train": {"lr_decay": 1.5}}, "lr_decay"),
        ({"train": {"val_fraction": 0}}, "val_fraction"),
        ({"train": {"device": "tpu"}}, "device"),
        ({"core": {"kernel_sizes": [4]}}, "odd"),
        ({"core": {"kind": "feature"}}, "site"),
        ({"shifter": ["eye_x"]}, "two eye-position"),
        ({"shifter": ["eye_x", "eye_y"], "readout": {"kind": "factorized"}}, "gaussian readout"),
        ({"image_size": 4}, "image_size"),
    ],
)
def test_bad_options_raise_clear_errors(data, fragment):
    with pytest.raises(TwinConfigError, match=fragment) as info:
        TwinConfig.from_dict(data)
    assert isinstance(info.value, NeurosafeError)


def test_from_dict_needs_a_mapping():
    with pytest.raises(TwinConfigError, match="mapping"):
        TwinConfig.from_dict(["core"])
