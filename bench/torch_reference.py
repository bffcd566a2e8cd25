#!/usr/bin/env python3
"""The training loop of `trk identify` written in PyTorch: the reference that scripts/bench_peer.sh times trk
against.

On the one-step pairs (z_n, z_{n+1}) of a trk dataset (HDF5: /train/states [trajectories, times, dim], root
attribute h) it trains a vector field f jointly with an explicit q-stage Runge-Kutta scheme,
    k_i = f(z + h sum_{j<i} a_ij k_j),   Phi(z) = z + h sum_i b_i k_i,
A strictly lower triangular, from A = 0 and b = 1/q, on the one-step mean squared error
mean((Phi(z_n) - z_{n+1})^2) with Adam at a constant rate and the full batch; after each Adam step b is projected on
sum_i b_i = 1. f is the bilinear network of src/trk/field/bilinear.h (its parameters in trk's order) or the tanh
MLP of src/trk/field/mlp.h. Float64, torch's default initialisation, seeded.

    /usr/bin/python3 bench/torch_reference.py DATA.h5 [--iterations N] [--stages Q] [--model bilinear|mlp]
                     [--widths 64,64] [--learning-rate 1e-3] [--threads T] [--seed S]
    /usr/bin/python3 bench/torch_reference.py --check     # exit 0 when torch and h5py import, else 2

The last line of its output:
    torch_reference: iterations_per_second=<float> final_loss=<float> pairs=<int> params=<int> threads=<int>
"""
import argparse
import importlib
import sys
import time

HOW_TO_GET = {
    "torch": "apt-get install python3-torch",
    "h5py": "apt-get install python3-h5py",
    "numpy": "apt-get install python3-numpy",
    "scipy": "apt-get install python3-scipy (torchdiffeq imports it)",
    "torchdiffeq": "put torchdiffeq 0.2.5 (https://github.com/rtqichen/torchdiffeq) on PYTHONPATH, "
                   "e.g. PYTHONPATH=/path/to/torchdiffeq",
}


def require(*modules):
    """Imports each module; on the first missing one prints one line saying how to get it and exits with 2."""
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            print(f"{sys.argv[0]}: {sys.executable} cannot import {name}: {HOW_TO_GET.get(name, 'install it')}",
                  file=sys.stderr)
            sys.exit(2)


if __name__ == "__main__":
    require("numpy", "h5py", "torch")

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_default_dtype(torch.float64)


class Bilinear(torch.nn.Module):
    """f(z) = W_out (W_trans [W_lin z + b_lin; p] + b_trans) + b_out with p_k = (l_k.z + c_k)(r_k.z + e_k), k < m.

    parameters() yields theta in the order of src/trk/field/bilinear.h: lin, left_0..left_{m-1},
    right_0..right_{m-1}, trans, out (weight, then bias, of each).
    """

    def __init__(self, dim=3, num_products=3):
        super().__init__()
        self.lin = torch.nn.Linear(dim, dim)
        self.left = torch.nn.ModuleList(torch.nn.Linear(dim, 1) for _ in range(num_products))
        self.right = torch.nn.ModuleList(torch.nn.Linear(dim, 1) for _ in range(num_products))
        self.trans = torch.nn.Linear(dim + num_products, dim)
        self.out = torch.nn.Linear(dim, dim)

    def forward(self, z):
        products = [left(z) * right(z) for left, right in zip(self.left, self.right)]
        return self.out(self.trans(torch.cat([self.lin(z)] + products, dim=-1)))


def tanh_mlp(dim, widths):
    """z -> W_{L+1} tanh(... tanh(W_1 z + b_1) ...) + b_{L+1}, hidden widths as given."""
    layers, fan_in = [], dim
    for width in widths:
        layers += [torch.nn.Linear(fan_in, width), torch.nn.Tanh()]
        fan_in = width
    layers.append(torch.nn.Linear(fan_in, dim))
    return torch.nn.Sequential(*layers)


class TrainableRungeKutta(torch.nn.Module):
    """Explicit q-stage scheme (A, b); only the strictly lower triangle of A is used and trained."""

    def __init__(self, stages):
        super().__init__()
        self.stages = stages
        self.a = torch.nn.Parameter(torch.zeros(stages, stages))
        self.b = torch.nn.Parameter(torch.full((stages,), 1.0 / stages))
        self.register_buffer("lower", torch.tril(torch.ones(stages, stages), diagonal=-1))

    def num_params(self):
        return self.stages * (self.stages - 1) // 2 + self.stages

    def step(self, f, z, h):
        a = self.a * self.lower
        k = []
        for i in range(self.stages):
            y = z
            for j in range(i):
                y = y + (h * a[i, j]) * k[j]
            k.append(f(y))
        increment = self.b[0] * k[0]
        for i in range(1, self.stages):
            increment = increment + self.b[i] * k[i]
        return z + h * increment

    @torch.no_grad()
    def project_weights(self):
        """b <- b - (sum b - 1) / q: the nearest b with sum_i b_i = 1."""
        self.b -= (self.b.sum() - 1.0) / self.stages


def read_pairs(path, group="train"):
    """(z_n, z_{n+1}) of every trajectory of /<group>/states, as two [pairs, dim] tensors, and h."""
    with h5py.File(path, "r") as fh:
        states = np.asarray(fh[f"{group}/states"], dtype=np.float64)
        h = float(fh.attrs["h"])
    if states.ndim == 2:
        states = states[None]
    dim = states.shape[-1]
    z0 = torch.tensor(states[:, :-1].reshape(-1, dim))
    z1 = torch.tensor(states[:, 1:].reshape(-1, dim))
    return z0, z1, h


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("data", nargs="?")
    p.add_argument("--check", action="store_true", help="only check that torch and h5py import")
    p.add_argument("--iterations", type=int, default=200)
    p.add_argument("--stages", type=int, default=10)
    p.add_argument("--model", choices=["bilinear", "mlp"], default="bilinear")
    p.add_argument("--widths", default="64,64", help="hidden widths of the MLP")
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    if a.check:
        return
    if a.data is None:
        p.error("DATA.h5 is required")
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    z0, z1, h = read_pairs(a.data)
    dim = z0.shape[1]
    f = Bilinear(dim) if a.model == "bilinear" else tanh_mlp(dim, [int(w) for w in a.widths.split(",")])
    scheme = TrainableRungeKutta(a.stages)
    optimiser = torch.optim.Adam(list(f.parameters()) + list(scheme.parameters()), lr=a.learning_rate)
    num_params = sum(t.numel() for t in f.parameters()) + scheme.num_params()
    loss = torch.tensor(float("nan"))
    start = time.perf_counter()
    for _ in range(a.iterations):
        optimiser.zero_grad()
        loss = ((scheme.step(f, z0, h) - z1) ** 2).mean()
        loss.backward()
        optimiser.step()
        scheme.project_weights()
    seconds = time.perf_counter() - start
    print(f"torch_reference: iterations_per_second={a.iterations / seconds:.3f} final_loss={loss.item():.6e} "
          f"pairs={z0.shape[0]} params={num_params} threads={a.threads}")


if __name__ == "__main__":
    main()
