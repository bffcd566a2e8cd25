"""CTest (python_trk_model): trains two small models with trk, loads them with trk_model and checks that the numpy
step reproduces trk's own numbers: the RMSE cells of identify.json (t0+h, t0+4h) and forecast.h5's trajectories,
to 1e-12 relative.   /usr/bin/python3 python/test_trk_model.py TRK_BINARY"""
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import trk_model  # noqa: E402

TOL = 1e-12


def run(*args):
    r = subprocess.run(args, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    if r.returncode != 0:
        sys.exit(f"FAILED: {' '.join(args)}\n{r.stdout}{r.stderr}")


def close(a, b, what):
    err = abs(a - b) / max(abs(b), 1e-300)
    print(f"  {what}: python {a:.17g}, trk {b:.17g}, relative difference {err:.1e}")
    if not err <= TOL:
        sys.exit(f"FAILED: {what} differs by {err:.1e} > {TOL}")


def main():
    trk = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data.h5")
        run(trk, "generate", "--system", "lorenz63", "--step", "0.1", "--train-steps", "150", "--test-steps", "40",
            "--out", data)
        short = ["--iterations", "40", "--meet-iterations", "20", "--refine-iterations", "10", "--lm-iterations", "2",
                 "--quiet", "--forecast-steps", "6"]
        cases = {"trk4 bilinear": ["--solver", "trk4", "--model", "bilinear"],
                 "rk4 mlp": ["--solver", "rk4", "--model", "mlp", "--widths", "8,8"],
                 "euler mlp relu": ["--solver", "euler", "--model", "mlp", "--widths", "6", "--activation", "relu"]}
        d = trk_model.load_dataset(data)
        for name, options in cases.items():
            out = os.path.join(tmp, name.replace(" ", "_"))
            run(trk, "identify", "--data", data, *options, *short, "--out", out)
            m = trk_model.load(os.path.join(out, "model.h5"))
            row = m.row
            print(f"{name}: {m.solver} {m.model}, {m.params.size} parameters, h = {m.h}")
            close(trk_model.rmse(m, d["test"], 1), row["rmse"]["t0+h"], "RMSE t0+h")
            close(trk_model.rmse(m, d["test"], 4), row["rmse"]["t0+4h"], "RMSE t0+4h")
            with h5py.File(os.path.join(out, "forecast.h5"), "r") as f:
                truth, predicted = np.array(f["truth"]), np.array(f["predicted"])
            ours = np.moveaxis(m.rollout(truth[:, 0, :], truth.shape[1] - 1), 0, 1)
            err = np.max(np.abs(ours - predicted)) / np.max(np.abs(predicted))
            print(f"  forecast.h5 ({predicted.shape[0]} starts x {predicted.shape[1] - 1} steps): max relative "
                  f"difference {err:.1e}")
            if not err <= TOL:
                sys.exit(f"FAILED: forecast differs by {err:.1e}")
    print("ok")


if __name__ == "__main__":
    main()
