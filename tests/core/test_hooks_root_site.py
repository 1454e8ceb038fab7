"""core.hooks: the site "" is the model itself; hooks are removed afterwards, also on error."""

import pytest
import torch
from torch import nn

from neurosafe.core.hooks import SiteError, capture, hooked


def test_root_site_reads_and_replaces_the_model_output():
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    x = torch.rand(5, 3)
    with capture(net, ["", "0"]) as out:
        y = net(x)
    torch.testing.assert_close(out[""], y)
    torch.testing.assert_close(out["0"], net[0](x))
    with hooked(net, {"": lambda _m, _i, o: torch.zeros_like(o)}):
        assert torch.equal(net(x), torch.zeros(5, 2))
    torch.testing.assert_close(net(x), y)  # removed
    with pytest.raises(SiteError, match="no sites given"), hooked(net, {}):
        pass
    with pytest.raises(RuntimeError), hooked(net, {"": lambda *_: None}):
        net(torch.rand(5, 7))
    assert not net._forward_hooks
