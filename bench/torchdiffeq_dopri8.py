#!/usr/bin/env python3
"""dopri8 training with torchdiffeq (the adaptive solver the paper's authors use): the reference that
scripts/bench_torchdiffeq.sh times `trk identify --solver dopri8` against.

The bilinear network of bench/torch_reference.py as f, one adaptive solve of the whole batch of training states
over [0, h] per iteration (odeint, method dopri8, one step size for the batch), the one-step mean squared error,
the gradient by backpropagation through the solver's operations, Adam at a constant rate, full batch, one thread.
Counts the evaluations of f in each forward solve (NFE).

    PYTHONPATH=/path/to/torchdiffeq /usr/bin/python3 bench/torchdiffeq_dopri8.py DATA.h5 [--iterations N]
        [--rtol 1e-7] [--atol 1e-9] [--learning-rate 1e-3] [--seed S]
    ... bench/torchdiffeq_dopri8.py --check     # exit 0 when torch, h5py, scipy and torchdiffeq import, else 2

The last line of its output:
    torchdiffeq_dopri8: iterations_per_second=<float> final_loss=<float> nfe_forward_mean=<float> pairs=<int>
"""
import argparse
import time

from torch_reference import require

if __name__ == "__main__":
    require("numpy", "h5py", "torch", "scipy", "torchdiffeq")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch_reference import Bilinear, read_pairs  # noqa: E402


class CountedField(torch.nn.Module):
    """f(t, z) = net(z), counting its evaluations."""

    def __init__(self, net):
        super().__init__()
        self.net = net
        self.evaluations = 0

    def forward(self, t, z):
        self.evaluations += 1
        return self.net(z)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("data", nargs="?")
    p.add_argument("--check", action="store_true", help="only check that torch and torchdiffeq import")
    p.add_argument("--iterations", type=int, default=100)
    p.add_argument("--rtol", type=float, default=1e-7)
    p.add_argument("--atol", type=float, default=1e-9)
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    if a.check:
        return
    if a.data is None:
        p.error("DATA.h5 is required")
    from torchdiffeq import odeint

    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    z0, z1, h = read_pairs(a.data)
    f = CountedField(Bilinear(z0.shape[1]))
    optimiser = torch.optim.Adam(f.parameters(), lr=a.learning_rate)
    times = torch.tensor([0.0, h])
    nfe_forward = []
    loss = torch.tensor(float("nan"))
    start = time.perf_counter()
    for _ in range(a.iterations):
        optimiser.zero_grad()
        f.evaluations = 0
        z = odeint(f, z0, times, method="dopri8", rtol=a.rtol, atol=a.atol)[-1]
        nfe_forward.append(f.evaluations)
        loss = ((z - z1) ** 2).mean()
        loss.backward()
        optimiser.step()
    seconds = time.perf_counter() - start
    print(f"torchdiffeq_dopri8: iterations_per_second={a.iterations / seconds:.3f} final_loss={loss.item():.6e} "
          f"nfe_forward_mean={np.mean(nfe_forward):.1f} pairs={z0.shape[0]}")


if __name__ == "__main__":
    main()
