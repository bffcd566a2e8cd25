"""Load a trk model (model.h5 of `trk identify`) and step the learned model with its tableau; numpy + h5py only.

    import trk_model
    m = trk_model.load("out/identify_l63/h0.2/trk10/model.h5")
    z1 = m.step(z0)                  # z0: (n, dim) or (dim,): one step of h with the trained tableau
    zs = m.rollout(z0, 4)            # (5, n, dim): z0, Psi(z0), ..., Psi^4(z0)
    f = m.field(z0)                  # the learned vector field f_theta(z)
    d = trk_model.load_dataset("data.h5")
    trk_model.rmse(m, d["test"], k=4)    # identify's t0+4h cell

Models: "bilinear" (Fablet, Ouala & Herzet 2018) and "mlp"; solvers with a fixed tableau: euler, rk4, trkQ.
dopri8 (adaptive) and sr (polynomial) models are loaded (attributes, parameters) but not stepped.

model.h5 (format "trk-model", version 1; README "model.h5"): attributes solver, model, h, dim, model_options (JSON:
num_products, widths, activation, seed), row (the identify.json row, JSON), configuration (JSON); datasets
params [P] (the flat parameter vector theta), A [q, q], b [q], c [q], history/{loss, nfe_forward, nfe_backward}.
theta is torch's `cat([p.flatten() for p in module.parameters()])`, each weight row-major (out x in):
  bilinear (d, m products): W_lin (d x d), b_lin (d); for k < m: l_k (d), c_k (1); for k < m: r_k (d), e_k (1);
      W_trans (d x (d + m)), b_trans (d); W_out (d x d), b_out (d).
      f(z) = W_out (W_trans [W_lin z + b_lin; p] + b_trans) + b_out,  p_k = (l_k . z + c_k)(r_k . z + e_k)
  mlp (widths w_1..w_L, n = (d, w_1, ..., w_L, d)): for each layer l: W (n_{l+1} x n_l), b (n_{l+1});
      x_l = act(W x_{l-1} + b) on hidden layers (tanh or relu), linear output layer.
"""
import json

import h5py
import numpy as np

__all__ = ["Model", "load", "load_dataset", "rmse"]


def _text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


class Model:
    """A learned flow map: a vector field f_theta and the explicit Runge-Kutta scheme {A, b, c} of one step h."""

    def __init__(self, path):
        with h5py.File(path, "r") as f:
            if _text(f.attrs["format"]) != "trk-model":
                raise ValueError(f"{path}: format: expected 'trk-model' (a model.h5 of trk identify)")
            if int(f.attrs["format_version"]) > 1:
                raise ValueError(f"{path}: format_version: expected 1")
            self.solver = _text(f.attrs["solver"])
            self.model = _text(f.attrs["model"])
            self.h = float(f.attrs["h"])
            self.dim = int(f.attrs["dim"])
            self.model_options = json.loads(_text(f.attrs["model_options"]))
            self.row = json.loads(_text(f.attrs["row"]))
            self.params = np.array(f["params"], dtype=np.float64)
            self.A = np.array(f["A"], dtype=np.float64)
            self.b = np.array(f["b"], dtype=np.float64)
            self.c = np.array(f["c"], dtype=np.float64)
            self.history = {k: np.array(v) for k, v in f["history"].items()} if "history" in f else {}
        self.path = path
        if self.model == "bilinear":
            self._unpack_bilinear(int(self.model_options["num_products"]))
        elif self.model == "mlp":
            self._unpack_mlp([int(w) for w in self.model_options["widths"]], self.model_options["activation"])
        self.steppable = self.solver in ("euler", "rk4") or self.solver.startswith("trk")

    # -- vector fields ---------------------------------------------------------------------------------------
    def _take(self, count):
        block = self.params[self._at:self._at + count]
        self._at += count
        return block

    def _unpack_bilinear(self, m):
        d = self.dim
        self._at = 0
        self.W_lin = self._take(d * d).reshape(d, d)
        self.b_lin = self._take(d)
        left = [self._take(d + 1) for _ in range(m)]
        right = [self._take(d + 1) for _ in range(m)]
        self.L, self.c_left = np.array([x[:d] for x in left]), np.array([x[d] for x in left])
        self.R, self.e_right = np.array([x[:d] for x in right]), np.array([x[d] for x in right])
        self.W_trans = self._take(d * (d + m)).reshape(d, d + m)
        self.b_trans = self._take(d)
        self.W_out = self._take(d * d).reshape(d, d)
        self.b_out = self._take(d)
        if self._at != self.params.size:
            raise ValueError(f"{self.path}: params: expected {self._at} values for bilinear(d={d}, m={m}), "
                             f"found {self.params.size}")

    def _unpack_mlp(self, widths, activation):
        sizes = [self.dim] + widths + [self.dim]
        self._at = 0
        self.layers = []
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            W = self._take(n_out * n_in).reshape(n_out, n_in)
            self.layers.append((W, self._take(n_out)))
        if self._at != self.params.size:
            raise ValueError(f"{self.path}: params: expected {self._at} values for mlp{sizes}, found {self.params.size}")
        if activation not in ("tanh", "relu"):
            raise ValueError(f"{self.path}: model_options.activation: expected tanh or relu, found {activation}")
        self.activation = np.tanh if activation == "tanh" else (lambda x: np.maximum(x, 0.0))

    def field(self, z):
        """f_theta(z) for states z of shape (..., dim)."""
        z = np.asarray(z, dtype=np.float64)
        if self.model == "bilinear":
            a = z @ self.W_lin.T + self.b_lin
            p = (z @ self.L.T + self.c_left) * (z @ self.R.T + self.e_right)
            hidden = np.concatenate([a, p], axis=-1) @ self.W_trans.T + self.b_trans
            return hidden @ self.W_out.T + self.b_out
        if self.model == "mlp":
            x = z
            for i, (W, bias) in enumerate(self.layers):
                x = x @ W.T + bias
                if i + 1 < len(self.layers):
                    x = self.activation(x)
            return x
        raise NotImplementedError(f"{self.path}: model {self.model}: only bilinear and mlp fields are evaluated here")

    # -- the flow map ----------------------------------------------------------------------------------------
    def step(self, z, h=None):
        """One explicit Runge-Kutta step of size h (default: the model's) with the trained tableau:
        k_i = f(z + h sum_{j<i} a_ij k_j),  z + h sum_i b_i k_i."""
        if not self.steppable:
            raise NotImplementedError(f"{self.path}: solver {self.solver}: only fixed-step tableaux (euler, rk4, trkQ) "
                                      "are stepped here")
        h = self.h if h is None else h
        z = np.asarray(z, dtype=np.float64)
        stages = []
        for i in range(self.b.size):
            zi = z.copy()
            for j in range(i):
                if self.A[i, j] != 0.0:
                    zi = zi + (h * self.A[i, j]) * stages[j]
            stages.append(self.field(zi))
        out = z.copy()
        for i in range(self.b.size):
            out = out + (h * self.b[i]) * stages[i]
        return out

    def rollout(self, z, steps):
        """(steps + 1, ...) array: z, Psi(z), ..., Psi^steps(z)."""
        out = [np.asarray(z, dtype=np.float64)]
        for _ in range(steps):
            out.append(self.step(out[-1]))
        return np.stack(out)


def load(path):
    """The model of a model.h5 written by trk identify."""
    return Model(path)


def load_dataset(path):
    """A trk dataset (README "Dataset layout") as {"h", "system", "train", "test"[, "validation"]}; each split a
    list of trajectories of shape (num_times, dim)."""
    out = {}
    with h5py.File(path, "r") as f:
        out["h"] = float(f.attrs["h"])
        out["system"] = _text(f.attrs.get("system", "unknown"))
        for split in ("train", "validation", "test"):
            if split in f:
                states = np.array(f[split]["states"], dtype=np.float64)
                out[split] = [states] if states.ndim == 2 else list(states)
    return out


def rmse(model, trajectories, k, horizon=4):
    """RMSE of Psi^k(z) against z(t0 + k h) over every state with `horizon` samples after it (identify's t0+h and
    t0+4h cells: k = 1, 4, horizon = 4), pooled over components and start states."""
    starts = np.concatenate([tr[:len(tr) - horizon] for tr in trajectories])
    truth = np.concatenate([tr[k:len(tr) - horizon + k] for tr in trajectories])
    z = starts
    for _ in range(k):
        z = model.step(z)
    return float(np.sqrt(np.mean((z - truth) ** 2)))
