"""PyTorch's side of spec/recurrent_spec.lua's state-dict round trip: a
seeded torch.nn.LSTM(5, 7, num_layers=2, bidirectional=True,
batch_first=True), its state dict as safetensors (json and struct only,
through spec/xcheck/safetensors_io.py), and its outputs.

  torch_lstm_weights.py make DIR   DIR/torch.safetensors, DIR/x.npy (4
      sequences of 6 steps of 5, one a row), DIR/y_torch.npy (n x 6*14),
      DIR/h_torch.npy and DIR/c_torch.npy (the final states, lua-nn's
      layout: n x 2*2*7)
  torch_lstm_weights.py check DIR  loads DIR/lua.safetensors into the same
      LSTM (strict), runs DIR/x.npy and prints the largest difference
      from DIR/y_lua.npy: "maxdiff <float>"
"""
import sys

import numpy as np
import torch

from safetensors_io import load, save

torch.manual_seed(11)
torch.set_num_threads(1)
mode, d = sys.argv[1], sys.argv[2]
net = torch.nn.LSTM(5, 7, num_layers=2, bidirectional=True, batch_first=True)


def states(t):
    return t.transpose(0, 1).reshape(t.shape[1], -1).numpy()


if mode == "make":
    x = torch.randn(4, 6, 5)
    with torch.no_grad():
        y, (h, c) = net(x)
    save("%s/torch.safetensors" % d, net.state_dict())
    np.save("%s/x.npy" % d, x.reshape(4, -1).numpy())
    np.save("%s/y_torch.npy" % d, y.reshape(4, -1).numpy())
    np.save("%s/h_torch.npy" % d, states(h))
    np.save("%s/c_torch.npy" % d, states(c))
    print("made")
else:
    net.load_state_dict(load("%s/lua.safetensors" % d), strict=True)
    x = torch.tensor(np.load("%s/x.npy" % d)).reshape(4, 6, 5)
    with torch.no_grad():
        y, _ = net(x)
    y = y.reshape(4, -1)
    print("maxdiff %.9g" % (y - torch.tensor(np.load("%s/y_lua.npy" % d))).abs().max().item())
