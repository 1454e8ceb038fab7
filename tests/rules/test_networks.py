"""Batched networks against per-network torch modules: forward, feedback alignment, Oja's rule."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from neurosafe.core.seeds import torch_generator
from neurosafe.rules.networks import Architecture, BatchedNet


def _net(kind, depth, width, n=3, rule="sgd"):
    return BatchedNet(Architecture(kind, depth, width), n, 8, 10, torch_generator(0, "test"), rule=rule)


def _reference_forward(net, i, x):
    """Network i's forward pass with plain F.linear / F.conv2d, one network at a time."""
    h = x
    for j, layer in enumerate(net.layers):
        w, b = layer["w"].detach(), layer["b"].detach()[i]
        if layer["kind"] == "linear":
            h = F.linear(h.reshape(len(h), -1), w[i].T, b)
        else:
            cout = layer["cout"]
            h = F.conv2d(h, w[i * cout:(i + 1) * cout], b, stride=layer["stride"], padding=1)
        if j < len(net.layers) - 1:
            h = torch.relu(h)
    return h


def test_batched_forward_matches_per_network_modules():
    x = torch.rand(3, 5, 1, 8, 8, generator=torch_generator(1, "x"))
    for kind, depth in (("mlp", 2), ("cnn", 2)):
        net = _net(kind, depth, 6)
        acts, _ = net.forward(x)
        for i in range(3):
            torch.testing.assert_close(acts[-1][i], _reference_forward(net, i, x[i]), rtol=1e-5, atol=1e-5)


def test_feedback_alignment_sends_errors_through_the_feedback_weights():
    """FA's weight gradient of a 1-hidden-layer MLP, by hand: delta_hidden = (e @ B^T) * relu'(z)."""
    net = _net("mlp", 1, 7, n=2, rule="fa")
    x = torch.rand(2, 4, 1, 8, 8, generator=torch_generator(2, "x"))
    acts, pairs = net.forward(x)
    loss = (acts[-1] ** 2).sum() / 2
    g_w0, g_w1 = torch.autograd.grad(loss, [net.layers[0]["w"], net.layers[1]["w"]])
    inp, z = pairs[0][0].detach(), pairs[0][1].detach()
    h, err = torch.relu(z), acts[-1].detach()
    fb = net.layers[1]["fb"]
    delta = torch.bmm(err, fb.transpose(1, 2)) * (z > 0)
    torch.testing.assert_close(g_w1, torch.bmm(h.transpose(1, 2), err))
    torch.testing.assert_close(g_w0, torch.bmm(inp.transpose(1, 2), delta))
    # and it is not backprop: with W^T instead of B the first-layer gradient differs
    bp = torch.bmm(err, net.layers[1]["w"].detach().transpose(1, 2)) * (z > 0)
    assert not torch.allclose(g_w0, torch.bmm(inp.transpose(1, 2), bp))


def test_fa_conv_input_gradient_uses_feedback_kernels():
    net = _net("cnn", 2, 4, n=2, rule="fa")
    x = torch.rand(2, 3, 1, 8, 8, generator=torch_generator(3, "x"))
    _, pairs = net.forward(x)
    z1 = pairs[1][1]  # second conv's pre-activation (G, B, C, H, W)
    g = torch.autograd.grad(z1.sum(), pairs[1][0])[0] if pairs[1][0].requires_grad else None
    # reference: conv_transpose of ones through each network's feedback kernel
    fb = net.layers[1]["fb"].reshape(2, 4, 4, 3, 3)
    ones = torch.ones_like(z1[0, 0:1])
    for i in range(2):
        ref = F.conv_transpose2d(ones, fb[i], stride=2, padding=1, output_padding=1)
        torch.testing.assert_close(g[i, 0], ref[0], rtol=1e-5, atol=1e-5)


def test_oja_subspace_rule_matches_closed_form_and_conv_patches():
    net = _net("mlp", 1, 5, n=2, rule="hebbian")
    x = torch.rand(2, 6, 1, 8, 8, generator=torch_generator(4, "x"))
    _, pairs = net.forward(x, detach_between=True)
    upd = net.oja_updates(pairs)[0]
    inp = pairs[0][0].numpy()
    w = net.layers[0]["w"].detach().numpy()
    for i in range(2):
        y = inp[i] @ w[i]
        ref = inp[i].T @ y / 6 - w[i] @ (y.T @ y / 6)
        np.testing.assert_allclose(upd[i].numpy(), ref, rtol=1e-4, atol=1e-6)
    # conv: Oja on explicit 3x3 patches (a padded loop, no unfold)
    cnet = _net("cnn", 1, 3, n=2, rule="hebbian")
    _, cpairs = cnet.forward(x, detach_between=True)
    cupd = cnet.oja_updates(cpairs[:1] + cpairs[1:])[0].reshape(2, 3, 9).numpy()
    img = np.pad(x.numpy()[:, :, 0], ((0, 0), (0, 0), (1, 1), (1, 1)))
    for i in range(2):
        patches = np.array([img[i, b, r:r + 3, c:c + 3].ravel() for b in range(6) for r in range(8) for c in range(8)])
        wi = cnet.layers[0]["w"].detach().numpy()[i * 3:(i + 1) * 3].reshape(3, 9).T
        y = patches @ wi
        ref = patches.T @ y / len(y) - wi @ (y.T @ y / len(y))
        np.testing.assert_allclose(cupd[i], ref.T, rtol=1e-4, atol=1e-6)
