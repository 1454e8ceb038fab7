"""Many small networks trained at once: batched MLPs and CNNs whose weights carry a leading network axis.

``G`` networks of one architecture are one set of tensors (linear weights ``(G, in, out)``, conv weights
``(G * out, in, k, k)`` run as a grouped convolution), so a forward pass of all of them is a few ``bmm`` /
grouped ``conv2d`` calls and a training step costs about as much as one of a larger network. Each network
has its own initial weights, minibatches and learning rate.

The learning rules (Nayebi, Srivastava, Ganguli & Yamins 2020 used SGD, momentum, Adam and feedback
alignment; the Hebbian rule is this package's addition, as the issue asks):

- ``sgd``, ``momentum`` (heavy ball, 0.9), ``adam`` (Kingma & Ba 2015, betas 0.9/0.999): backpropagation.
- ``fa``: feedback alignment (Lillicrap, Cownden, Tweed & Akerman 2016): the backward pass sends errors
  through fixed random matrices of the forward weights' shape instead of the transposed weights.
- ``hebbian``: every hidden layer learns by Oja's subspace rule (Oja 1989), ``dW = eta (<x y^T> -
  W <y y^T>)`` with ``y`` the layer's pre-activation (for a conv layer, ``x`` are its input patches, units
  its channels); the readout learns by the delta rule on the task loss (gradient of the loss with its input
  detached; learning rate 10x the Hebbian one), so the network still solves the task.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = ["RULES", "Architecture", "BatchedNet"]

RULES = ("sgd", "momentum", "adam", "fa", "hebbian")


@dataclass(frozen=True)
class Architecture:
    """An MLP (``kind="mlp"``: ``depth`` hidden layers of ``width`` units) or a small CNN (``kind="cnn"``:
    ``depth`` 3x3 conv layers of ``width`` channels, stride 2 after the first, then a linear readout)."""

    kind: str
    depth: int
    width: int

    @property
    def name(self) -> str:
        return f"{self.kind}-d{self.depth}-w{self.width}"


class _FALinear(torch.autograd.Function):
    """``x @ W`` whose backward sends the error through the feedback matrix ``B`` (feedback alignment)."""

    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, b)
        return torch.bmm(x, w)

    @staticmethod
    def backward(ctx, grad):
        x, b = ctx.saved_tensors
        return torch.bmm(grad, b.transpose(1, 2)), torch.bmm(x.transpose(1, 2), grad), None


class _FAConv(torch.autograd.Function):
    """Grouped ``conv2d`` whose input gradient uses the feedback kernels ``B`` (feedback alignment)."""

    @staticmethod
    def forward(ctx, x, w, b, stride, groups):
        ctx.save_for_backward(x, b)
        ctx.shape, ctx.stride, ctx.groups = w.shape, stride, groups
        return F.conv2d(x, w, stride=stride, padding=1, groups=groups)

    @staticmethod
    def backward(ctx, grad):
        x, b = ctx.saved_tensors
        gx = torch.nn.grad.conv2d_input(x.shape, b, grad, stride=ctx.stride, padding=1, groups=ctx.groups)
        gw = torch.nn.grad.conv2d_weight(x, ctx.shape, grad, stride=ctx.stride, padding=1, groups=ctx.groups)
        return gx, gw, None, None, None


class BatchedNet:
    """``n`` networks of one :class:`Architecture` on inputs of shape ``(1, side, side)``, ``n_out`` outputs.

    Layers are stored as a list of dicts (``kind``, ``w``, ``b``, for conv ``stride`` and ``cout``). The
    forward pass takes ``x`` of shape ``(G, B, 1, side, side)`` and returns the post-activations of every
    layer (the readout's are the outputs), each ``(G, B, units[, H, W])``.
    """

    def __init__(self, arch: Architecture, n: int, side: int, n_out: int, generator: torch.Generator,
                 rule: str = "sgd"):
        self.arch, self.n, self.side, self.n_out, self.rule = arch, n, side, n_out, rule
        self.layers: list[dict] = []
        if arch.kind == "mlp":
            sizes = [side * side] + [arch.width] * arch.depth + [n_out]
            for fan_in, fan_out in itertools.pairwise(sizes):
                self.layers.append({"kind": "linear", "w": self._init((n, fan_in, fan_out), fan_in, generator),
                                    "b": torch.zeros(n, fan_out)})
        elif arch.kind == "cnn":
            cin, hw = 1, side
            for i in range(arch.depth):
                stride = 1 if i == 0 else 2
                self.layers.append({"kind": "conv", "stride": stride, "cout": arch.width,
                                    "w": self._init((n * arch.width, cin, 3, 3), cin * 9, generator),
                                    "b": torch.zeros(n, arch.width)})
                cin, hw = arch.width, (hw - 1) // stride + 1
            fan_in = cin * hw * hw
            self.layers.append({"kind": "linear", "w": self._init((n, fan_in, n_out), fan_in, generator),
                                "b": torch.zeros(n, n_out)})
        else:  # validated by the caller
            raise ValueError(arch.kind)
        for layer in self.layers:
            layer["fb"] = self._init(layer["w"].shape, 1, generator) * layer["w"].std() if rule == "fa" else None
            layer["w"].requires_grad_(True)
            layer["b"].requires_grad_(True)

    @staticmethod
    def _init(shape: tuple, fan_in: int, generator: torch.Generator) -> torch.Tensor:
        return torch.randn(*shape, generator=generator) * (2.0 / fan_in) ** 0.5

    def parameters(self) -> list[torch.Tensor]:
        return [t for layer in self.layers for t in (layer["w"], layer["b"])]

    def weight_units(self, i: int) -> torch.Tensor:
        """Layer ``i``'s incoming weights as ``(G, units, fan_in)`` (a unit: an output neuron or channel)."""
        layer = self.layers[i]
        w = layer["w"].detach()
        if layer["kind"] == "linear":
            return w.transpose(1, 2)
        return w.reshape(self.n, layer["cout"], -1)

    def _pre(self, i: int, h: torch.Tensor, detach_input: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """(input as used, pre-activation) of layer ``i`` for ``h`` of shape (G, B, ...)."""
        layer = self.layers[i]
        if detach_input:
            h = h.detach()
        g, batch = h.shape[:2]
        if layer["kind"] == "linear":
            h = h.reshape(g, batch, -1)
            z = _FALinear.apply(h, layer["w"], layer["fb"]) if layer["fb"] is not None else torch.bmm(h, layer["w"])
            return h, z + layer["b"][:, None]
        x = h.transpose(0, 1).reshape(batch, g * h.shape[2], *h.shape[3:])
        if layer["fb"] is not None:
            z = _FAConv.apply(x, layer["w"], layer["fb"], layer["stride"], g)
        else:
            z = F.conv2d(x, layer["w"], stride=layer["stride"], padding=1, groups=g)
        z = z.reshape(batch, g, layer["cout"], *z.shape[2:]).transpose(0, 1)
        return h, z + layer["b"][:, None, :, None, None]

    def forward(self, x: torch.Tensor, detach_between: bool = False) -> tuple[list[torch.Tensor], list[tuple]]:
        """Post-activations of every layer, and the (input, pre-activation) pairs (for local rules)."""
        acts, pairs, h = [], [], x
        for i in range(len(self.layers)):
            inp, z = self._pre(i, h, detach_input=detach_between)
            pairs.append((inp, z))
            h = z if i == len(self.layers) - 1 else torch.relu(z)
            acts.append(h)
        return acts, pairs

    def oja_updates(self, pairs: list[tuple]) -> list[torch.Tensor]:
        """Oja's subspace rule ``<x y^T> - W <y y^T>`` for every hidden layer, in each weight's own layout."""
        out = []
        for layer, (inp, z) in zip(self.layers[:-1], pairs[:-1], strict=True):
            inp, z = inp.detach(), z.detach()  # hidden biases stay at zero under this rule: z = W^T x
            if layer["kind"] == "linear":
                batch = inp.shape[1]
                hebb = torch.bmm(inp.transpose(1, 2), z) / batch  # (G, in, out)
                decay = torch.bmm(layer["w"].detach(), torch.bmm(z.transpose(1, 2), z) / batch)
                out.append(hebb - decay)
                continue
            g, batch, cin = inp.shape[:3]
            cout = layer["cout"]
            patches = F.unfold(inp.reshape(g * batch, cin, *inp.shape[3:]), 3, padding=1, stride=layer["stride"])
            # patches (G*B, cin*9, P) -> (G, cin*9, B*P); z (G, B, cout, H, W) -> (G, B*P, cout)
            p = patches.shape[-1]
            patches = patches.reshape(g, batch, cin * 9, p).permute(0, 2, 1, 3).reshape(g, cin * 9, batch * p)
            y = z.reshape(g, batch, cout, p).permute(0, 1, 3, 2).reshape(g, batch * p, cout)
            w = layer["w"].detach().reshape(g, cout, cin * 9).transpose(1, 2)  # (G, cin*9, cout)
            hebb = torch.bmm(patches, y) / (batch * p)
            decay = torch.bmm(w, torch.bmm(y.transpose(1, 2), y) / (batch * p))
            out.append((hebb - decay).transpose(1, 2).reshape(g * cout, cin, 3, 3))
        return out
