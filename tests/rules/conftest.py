"""One small planted sweep shared by the identification and CLI tests (five rules, three MLPs, digits)."""

from __future__ import annotations

import pytest

from neurosafe.rules.simulate import make_config, parse_architecture, simulate_rules

HELD_OUT = "mlp-d1-w24"


@pytest.fixture(scope="session")
def rules_run(tmp_path_factory):
    config = make_config(tasks=["digits"], networks_per_group=8, steps=100, n_logs=4, units=[5, 0], noise=[],
                         n_probe=16, architectures=[parse_architecture(a) for a in
                                                    ("mlp-d1-w16", "mlp-d2-w16", HELD_OUT)])
    folder = tmp_path_factory.mktemp("rules")
    return folder, simulate_rules(config, folder, progress=False)


@pytest.fixture(scope="session")
def observables(rules_run):
    return rules_run[1]
