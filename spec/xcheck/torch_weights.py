"""PyTorch's side of spec/weights_spec.lua: safetensors written and read
with json and struct only (spec/xcheck/safetensors_io.py: the safetensors
package is not in Debian).

  torch_weights.py make DIR ARCH   a seeded torch.nn.Sequential (mlp or
      cnn), BatchNorm statistics moved by a few training batches, then in
      eval mode: DIR/torch.safetensors, DIR/x.npy (inputs, one per row) and
      DIR/y_torch.npy (its outputs)
  torch_weights.py check DIR ARCH  loads DIR/lua.safetensors into the same
      architecture (strict), runs DIR/x.npy and prints the largest
      difference from DIR/y_lua.npy: "maxdiff <float>"
"""
import sys

import numpy as np
import torch

from safetensors_io import load, save

torch.manual_seed(7)
torch.set_num_threads(1)
mode, d, arch = sys.argv[1], sys.argv[2], sys.argv[3]


def network():
    if arch == "mlp":
        return torch.nn.Sequential(
            torch.nn.Linear(20, 16), torch.nn.Tanh(), torch.nn.Linear(16, 8),
            torch.nn.BatchNorm1d(8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    return torch.nn.Sequential(
        torch.nn.Conv2d(2, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
        torch.nn.MaxPool2d(2), torch.nn.Conv2d(4, 3, (2, 3), bias=False),
        torch.nn.GELU(), torch.nn.Flatten(), torch.nn.Linear(3 * 3 * 2, 5))


def inputs():
    return torch.randn(9, 20) if arch == "mlp" else torch.randn(9, 2, 8, 8)


net = network()
if mode == "make":
    net.train()
    for _ in range(3):
        net(inputs() * 2 + 1)
    net.eval()
    x = inputs()
    with torch.no_grad():
        y = net(x)
    save("%s/torch.safetensors" % d, net.state_dict())
    np.save("%s/x.npy" % d, x.reshape(x.shape[0], -1).numpy())
    np.save("%s/y_torch.npy" % d, y.numpy())
    print("made")
else:
    net.load_state_dict(load("%s/lua.safetensors" % d), strict=True)
    net.eval()
    x = torch.tensor(np.load("%s/x.npy" % d))
    if arch == "cnn":
        x = x.reshape(-1, 2, 8, 8)
    with torch.no_grad():
        y = net(x)
    print("maxdiff %.9g" % (y - torch.tensor(np.load("%s/y_lua.npy" % d))).abs().max().item())
