"""``resolve``: one grammar for models named by the user (zoo name, package.module:factory, file.py:factory),
seeded, type-checked, with weights; every bad spec is a one-line ModelSpecError."""

from __future__ import annotations

import pytest
import torch

from neurosafe.core.io import save_state
from neurosafe.subjects import ModelSpecError, Subject, resolve, zoo

FACTORY = """import torch

def build(in_channels=3, width=4):
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(in_channels * 4, width))

def brain():
    from neurosafe.data import SyntheticBrain
    return SyntheticBrain(n_neurons=3, seed=1)

def not_a_model():
    return [1, 2, 3]

VALUE = 3
"""


@pytest.fixture
def model_file(tmp_path):
    file = tmp_path / "mynet.py"
    file.write_text(FACTORY)
    return file


@pytest.fixture
def model_package(tmp_path, monkeypatch):
    package = tmp_path / "userpkg_for_resolve"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "nets.py").write_text(FACTORY)
    monkeypatch.syspath_prepend(str(tmp_path))
    return "userpkg_for_resolve.nets"


def _equal(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_file_factory_gets_the_kwargs_it_accepts(model_file):
    model = resolve(f"{model_file}:build", in_channels=1, n_classes=5)  # n_classes: not accepted, dropped
    assert model[1].in_features == 4 and model[1].out_features == 4
    assert isinstance(resolve(f"{model_file}:brain"), Subject)


def test_package_module_factory(model_package, model_file):
    model = resolve(f"{model_package}:build", seed=3, in_channels=2, width=6)
    assert model[1].weight.shape == (6, 8)
    # the same factory from a file and from a package, same seed: the same weights
    assert _equal(model, resolve(f"{model_file}:build", seed=3, in_channels=2, width=6))


def test_zoo_name_with_weights_round_trip(tmp_path):
    trained = resolve("cnn_small", seed=1, in_channels=1, n_classes=3)
    with torch.no_grad():
        trained.fc.weight.add_(1.0)  # weights no seed reproduces
    weights = save_state(tmp_path / "w.pt", trained.state_dict())
    loaded = resolve("cnn_small", weights=weights, seed=2, in_channels=1, n_classes=3)
    assert _equal(loaded, trained)
    assert not _equal(loaded, resolve("cnn_small", seed=2, in_channels=1, n_classes=3))


def test_same_seed_same_initial_weights_and_the_callers_rng_is_untouched(model_file):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    a = resolve("cnn_small", seed=7)
    assert torch.equal(torch.rand(3), expected)
    assert _equal(a, resolve("cnn_small", seed=7))
    assert not _equal(a, resolve("cnn_small", seed=8))
    assert _equal(zoo.get_model("cnn_small", seed=7), a)  # the zoo uses the same seeding
    assert _equal(resolve(f"{model_file}:build", seed=7), resolve(f"{model_file}:build", seed=7))
    assert not _equal(resolve(f"{model_file}:build", seed=7), resolve(f"{model_file}:build", seed=9))


@pytest.mark.parametrize(("spec", "message"), [
    ("{tmp}/missing.py:build", "model file not found"),
    ("{file}:nope", "has no callable 'nope'"),
    ("{file}:VALUE", "has no callable 'VALUE'"),
    ("{file}", "needs a factory name"),
    ("no_such_package_xyz.nets:build", "cannot import module 'no_such_package_xyz.nets'"),
    ("cnn_smal", "unknown model 'cnn_smal'"),
    ("{file}:not_a_model", "returned a list, not a torch.nn.Module or a Subject"),
])
def test_bad_specs_are_one_line_errors(model_file, tmp_path, spec, message):
    with pytest.raises(ModelSpecError, match=message) as err:
        resolve(spec.format(tmp=tmp_path, file=model_file))
    assert "\n" not in str(err.value)


def test_bad_weights_are_one_line_errors(model_file, tmp_path):
    other = save_state(tmp_path / "other.pt", torch.nn.Linear(2, 2).state_dict())
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a torch file")
    for weights, message in [(other, "cannot load weights .* into cnn_small"),
                             (garbage, "cannot load weights .*cannot be read"),
                             (tmp_path / "absent.pt", "weights file not found")]:
        with pytest.raises(ModelSpecError, match=message) as err:
            resolve("cnn_small", weights=weights)
        assert "\n" not in str(err.value)
    with pytest.raises(ModelSpecError, match="weights need a torch.nn.Module"):
        resolve(f"{model_file}:brain", weights=other)


def test_resolve_and_every_model_option_say_that_user_code_runs():
    from neurosafe.cli import probe, robust, score

    assert "imports and runs the user's code" in " ".join(resolve.__doc__.split())
    helps = [robust.MODEL_HELP, probe.SUBJECT_HELP, score.score.__wrapped__.__defaults__[0].help]
    assert all("runs that code" in " ".join(h.split()) for h in helps)
