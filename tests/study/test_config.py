import pytest
import yaml

from neurosafe.study.config import StudyConfigError, load_study


def test_default_study_is_valid():
    cfg = load_study()
    assert cfg.name == "default" and cfg.controls == ["shuffled", "matched"] and len(cfg.seeds) >= 2


def _write(tmp_path, text):
    p = tmp_path / "study.yaml"
    p.write_text(text)
    return p


def test_unknown_key_is_named(tmp_path):
    with pytest.raises(StudyConfigError, match="task.epochz: unknown key"):
        load_study(_write(tmp_path, "task:\n  epochz: 3\n"))


def test_wrong_type_is_named(tmp_path):
    with pytest.raises(StudyConfigError, match="brain.n_neurons"):
        load_study(_write(tmp_path, "brain:\n  n_neurons: many\n"))
    with pytest.raises(StudyConfigError, match="controls"):
        load_study(_write(tmp_path, "controls: [shuffled, bogus]\n"))


def test_missing_data_path_is_named(tmp_path):
    with pytest.raises(StudyConfigError, match="data: .*data file not found"):
        load_study(_write(tmp_path, "data: missing.nc\n"))


def test_not_yaml_or_not_a_mapping(tmp_path):
    with pytest.raises(StudyConfigError, match="not valid YAML"):
        load_study(_write(tmp_path, "a: [1, 2\n"))
    with pytest.raises(StudyConfigError, match="mapping"):
        load_study(_write(tmp_path, "- 1\n- 2\n"))
    with pytest.raises(StudyConfigError, match="not found"):
        load_study(tmp_path / "nope.yaml")


def test_relative_data_path_resolves_next_to_the_file(tmp_path):
    (tmp_path / "rec.nc").write_bytes(b"")
    cfg = load_study(_write(tmp_path, "data: rec.nc\nname: real\n"))
    assert cfg.data == tmp_path / "rec.nc" and cfg.name == "real"


def test_sections_are_the_path_packages_own_configs(tmp_path):
    """No re-mapping: the twin, training and regularizer sections are the twin and finetune config models."""
    from neurosafe.finetune import RegularizerConfig, TrainConfig
    from neurosafe.twin import TwinConfig

    cfg = load_study(_write(tmp_path, "twin:\n  config:\n    train: {max_epochs: 3, device: cpu}\n"
                                      "    core: {channels: 8}\ntask:\n  train: {epochs: 2, lr: 0.01}\n"
                                      "regularizer: {kind: cka, weight: 3}\ndevice: cpu\n"))
    assert isinstance(cfg.twin.config, TwinConfig) and isinstance(cfg.task.train, TrainConfig)
    assert isinstance(cfg.regularizer, RegularizerConfig)
    twin = TwinConfig.from_dict({"train": {"max_epochs": 3, "device": "cpu"}, "core": {"channels": 8}})
    assert cfg.twin.config == twin and cfg.task.train == TrainConfig(epochs=2, lr=0.01)
    assert cfg.regularizer == RegularizerConfig(kind="cka", weight=3)
    again = load_study(_write(tmp_path, yaml.safe_dump(cfg.model_dump(mode="json"))))
    assert again == cfg


def test_nested_section_errors_are_named(tmp_path):
    with pytest.raises(StudyConfigError, match="task.train.*epochz"):
        load_study(_write(tmp_path, "task:\n  train: {epochz: 3}\n"))
    with pytest.raises(StudyConfigError, match="twin.config: .*max_epochz"):
        load_study(_write(tmp_path, "twin:\n  config:\n    train: {max_epochz: 3}\n"))
    with pytest.raises(StudyConfigError, match="regularizer.weight"):
        load_study(_write(tmp_path, "regularizer: {weight: -1}\n"))
