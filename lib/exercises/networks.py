"""Chapter 11's checked exercises: a layer's and a network's forward pass, checked against ``torch.nn``."""

from __future__ import annotations

import itertools

import torch

from lib.exercises.feedback import Case, Feedback, Mistake, check_function, fresh, generator, randn


def linear(W: torch.Tensor, b: torch.Tensor) -> torch.nn.Linear:
    """A ``torch.nn.Linear`` holding the weights ``W`` (outputs × inputs) and the bias ``b``."""
    with torch.random.fork_rng(devices=[]):  # its random initial weights leave the learner's seed alone
        layer = torch.nn.Linear(W.shape[1], W.shape[0], dtype=torch.float64)
    with torch.no_grad():
        layer.weight.copy_(W)
        layer.bias.copy_(b)
    return layer


def check_layer_forward(layer_forward) -> Feedback:
    """Check ``layer_forward(x, W, b)``: the activations ``a = σ(Wx + b)`` of a dense sigmoid layer."""
    data = []
    for seed, (n_in, n_out) in enumerate(((3, 2), (5, 4), (4, 4), (8, 3)), start=150):
        gen = generator(seed)
        data.append(
            (
                f"with {n_in} inputs and {n_out} neurons",
                2 * randn(gen, n_in),
                randn(gen, n_out, n_in),
                randn(gen, n_out),
            )
        )
    cases = [Case(label, lambda f, a=a: f(*fresh(*a))) for label, *a in data]

    def torch_layer(x, W, b):
        with torch.no_grad():
            return torch.sigmoid(linear(W, b)(x))

    mistakes = [
        Mistake(lambda x, W, b: torch.sigmoid(W @ x), "leaves out the bias: z = Wx + b."),
        Mistake(
            lambda x, W, b: W @ x + b, "returns z = Wx + b: pass it through the sigmoid, a = σ(z) = 1/(1 + e^(−z))."
        ),
        Mistake(
            lambda x, W, b: torch.sigmoid(W @ x) + b,
            "adds the bias after the sigmoid: it belongs inside, a = σ(Wx + b).",
        ),
        Mistake(
            lambda x, W, b: torch.tanh(W @ x + b),
            "uses tanh: this layer's activation is the sigmoid, σ(z) = 1/(1 + e^(−z)), "
            "whose outputs lie between 0 and 1.",
        ),
    ]
    return check_function(
        layer_forward,
        "layer_forward",
        cases,
        torch_layer,
        mistakes,
        names=("the activations",),
        success="agrees with torch.nn.Linear and torch.sigmoid",
    )


def check_relu_net_forward(relu_net_forward) -> Feedback:
    """Check ``relu_net_forward(X, layers)``: the logits of a ReLU network, one row per example.

    ``layers`` is a list of ``(W, b)``; every layer computes X Wᵀ + b, and a ReLU
    follows every layer but the last.
    """
    data = []
    for seed, sizes in enumerate(((4, 5, 3), (3, 6, 6, 2), (8, 4, 4, 4, 10)), start=160):
        gen = generator(seed)
        layers = [(randn(gen, n_out, n_in), randn(gen, n_out)) for n_in, n_out in itertools.pairwise(sizes)]
        data.append((f"on a network of sizes {' → '.join(map(str, sizes))}", randn(gen, 5, sizes[0]), layers))
    cases = [
        Case(label, lambda f, X=X, layers=layers: f(X.clone(), [(W.clone(), b.clone()) for W, b in layers]))
        for label, X, layers in data
    ]

    def torch_net(X, layers):
        modules = []
        for W, b in layers:
            modules += [linear(W, b), torch.nn.ReLU()]
        with torch.no_grad():
            return torch.nn.Sequential(*modules[:-1])(X)

    def forward(X, layers, act, last):
        for k, (W, b) in enumerate(layers):
            X = X @ W.T + b
            if k < len(layers) - 1 or last:
                X = act(X)
        return X

    mistakes = [
        Mistake(
            lambda X, layers: forward(X, layers, torch.relu, last=True),
            "applies the ReLU after the last layer too: the logits must be able to be "
            "negative, so the last layer has no activation.",
        ),
        Mistake(
            lambda X, layers: forward(X, layers, lambda z: z, last=False),
            "has no ReLU between the layers: without one the whole network is a single linear map.",
        ),
        Mistake(
            lambda X, layers: forward(X, layers, torch.sigmoid, last=False),
            "uses the sigmoid between the layers: this network's activation is the ReLU, max(0, z).",
        ),
    ]
    return check_function(
        relu_net_forward,
        "relu_net_forward",
        cases,
        torch_net,
        mistakes,
        names=("the logits",),
        success="agrees with torch.nn.Sequential of Linear and ReLU",
    )
