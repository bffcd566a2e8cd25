#!/usr/bin/python3
"""The best an Euler baseline with a quadratic field can do on a Lorenz-63 dataset (numpy and h5py, no trk code).

An Euler step of a quadratic field, z + h f(z), is a quadratic map of z, and so is an Euler step of the bilinear
network. The one-step MSE over quadratic maps is linear least squares: its minimiser over the training pairs bounds
every one-step-trained Euler baseline from below on training data. Prints its test RMSE at t0+h and t0+4h, pooled
(sqrt of the mean over states and components) and mean over the test states (the mean of each state's RMSE), as
`trk identify` evaluates: from every test state with 4 samples after it.

usage: scripts/euler_bound.py DATA.h5 [DATA2.h5 ...]
"""
import sys

import h5py
import numpy as np


def features(Z):
    x, y, z = Z[:, 0], Z[:, 1], Z[:, 2]
    return np.stack([np.ones_like(x), x, y, z, x * x, x * y, x * z, y * y, y * z, z * z], 1)


def rmse(E):
    return np.sqrt((E ** 2).mean()), np.sqrt((E ** 2).mean(1)).mean()


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for path in sys.argv[1:]:
        with h5py.File(path, "r") as f:
            train = np.asarray(f["train/states"], dtype=np.float64)
            test = np.asarray(f["test/states"], dtype=np.float64)
            h = float(f.attrs["h"]) if "h" in f.attrs else float("nan")
        X = np.concatenate([t[:-1] for t in train])
        Y = np.concatenate([t[1:] for t in train])
        W, *_ = np.linalg.lstsq(features(X), Y, rcond=None)
        starts = np.concatenate([t[:-4] for t in test])
        Z = starts
        errors = []
        for k in range(4):
            Z = features(Z) @ W
            errors.append(Z - np.concatenate([t[k + 1:len(t) - 3 + k] for t in test]))
        (p1, m1), (p4, m4) = rmse(errors[0]), rmse(errors[3])
        print(f"{path}: h {h:g}, {len(starts)} test states, least-squares quadratic map: "
              f"t0+h {p1:.4g} (mean over states {m1:.4g}), t0+4h {p4:.4g} (mean over states {m4:.4g})")


if __name__ == "__main__":
    main()
