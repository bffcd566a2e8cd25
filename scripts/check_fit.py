#!/usr/bin/python3
"""Independent check of the trained tableaux of a fit.json (numpy only, no trk code): runs every row's scheme on
Lorenz-63 (sigma 10, rho 28, beta 8/3) from N initial states of its own (random points spun up onto the attractor
by classical RK4 at h = 0.005), 1000 time units each, and applies the integrates criterion (every run finite with
max |z_i| < 1000; climatology after the first 10 time units within 10% of the row's reference std).

usage: scripts/check_fit.py FIT.json [N=100] [SEED=1] [SCHEMES=trk4]
"""
import json
import sys

import numpy as np


def field(Z):
    x, y, z = Z
    return np.array([10 * (y - x), x * (28 - z) - y, x * y - 8 / 3 * z])


def step(A, b, h, Z):
    k = []
    for i in range(len(b)):
        Zi = Z + h * sum(A[i][j] * k[j] for j in range(i) if A[i][j] != 0) if i else Z
        k.append(field(Zi))
    return Z + h * sum(b[i] * k[i] for i in range(len(b)))


def main():
    path = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    schemes = sys.argv[4].split(",") if len(sys.argv) > 4 else ["trk4"]
    rows = json.load(open(path))["rows"]
    rng = np.random.default_rng(seed)
    Z0 = np.array([8.0, 0.0, 30.0])[:, None] + 5 * rng.normal(size=(3, n))
    rk4 = ([[0, 0, 0, 0], [0.5, 0, 0, 0], [0, 0.5, 0, 0], [0, 0, 1, 0]], [1 / 6, 1 / 3, 1 / 3, 1 / 6])
    for _ in range(int(rng.integers(3000, 6000))):
        Z0 = step(*rk4, 0.005, Z0)
    for r in rows:
        if r["scheme"] not in schemes:
            continue
        A, b, h = r["tableau"]["A"], r["tableau"]["b"], r["h"]
        ref_mean = np.array(r["climatology"]["reference_mean"])
        ref_std = np.array(r["climatology"]["reference_std"])
        X, alive = Z0.copy(), np.ones(n, bool)
        s1, s2, count = np.zeros(3), np.zeros(3), 0
        for s in range(1, int(np.ceil(1000 / h - 1e-9)) + 1):
            X = step(A, b, h, X)
            alive &= np.abs(X).max(0) < 1000
            X[:, ~alive] = 0
            if s * h >= 10:
                s1 += X[:, alive].sum(1)
                s2 += (X[:, alive] ** 2).sum(1)
                count += alive.sum()
        dev = float("inf")
        if count:
            mean = s1 / count
            std = np.sqrt(np.maximum(s2 / count - mean * mean, 0))
            dev = max((abs(mean - ref_mean) / ref_std).max(), (abs(std - ref_std) / ref_std).max())
        ok = alive.all() and dev <= 0.1
        print(f"h={r['h']} {r['scheme']}: {'integrates' if ok else 'fails'}: bounded {alive.sum()}/{n}, "
              f"deviation {dev:.4f} (fit.json: {r['bounded_runs']}/{r['runs']}, {r['worst_deviation']})", flush=True)


if __name__ == "__main__":
    main()
