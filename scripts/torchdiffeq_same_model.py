#!/usr/bin/env python3
"""Forward NFE of one dopri8 solve over [0, h] of a whole training batch, trk against torchdiffeq 0.2.5, on the same
model: the bilinear parameters of a trk model.h5 (flat theta in the order of torch's Bilinear.parameters(), see
src/trk/field/bilinear.h) loaded into bench/torch_reference.py's Bilinear, solved by torchdiffeq at the same tolerances on the same
one-step pairs. Prints torchdiffeq's NFE; trk's is history/nfe_forward of a one-iteration run from the same model.
Usage: PYTHONPATH=/path/to/torchdiffeq /usr/bin/python3 scripts/torchdiffeq_same_model.py DATA.h5 MODEL.h5
       [rtol atol]"""
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
from torch_reference import require
require("numpy", "h5py", "torch", "scipy", "torchdiffeq")
import h5py, numpy as np, torch
from torchdiffeq import odeint
from torch_reference import Bilinear
torch.set_default_dtype(torch.float64); torch.set_num_threads(1)
data, model = sys.argv[1], sys.argv[2]
rtol, atol = (float(sys.argv[3]), float(sys.argv[4])) if len(sys.argv) > 4 else (1e-7, 1e-9)
with h5py.File(data) as fh:
    st = np.asarray(fh["train/states"])[0]; h = float(fh.attrs["h"])
with h5py.File(model) as fm:
    theta = np.asarray(fm["params"], dtype=np.float64)
net = Bilinear(3); offset = 0
with torch.no_grad():
    for p in net.parameters():
        p.copy_(torch.tensor(theta[offset:offset + p.numel()]).view_as(p)); offset += p.numel()
assert offset == theta.size, (offset, theta.size)
class F(torch.nn.Module):
    def __init__(s): super().__init__(); s.nfe = 0
    def forward(s, t, z): s.nfe += 1; return net(z)
f = F()
with torch.no_grad():
    odeint(f, torch.tensor(st[:-1]), torch.tensor([0.0, h]), method="dopri8", rtol=rtol, atol=atol)
print(f"torchdiffeq_nfe_forward={f.nfe}")
