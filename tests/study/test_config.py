import pytest

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
