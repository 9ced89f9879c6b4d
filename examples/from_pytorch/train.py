"""Trains a small MNIST MLP in PyTorch and exports it for lua-nn.

usage: python3 train.py [mnist dir (data/mnist)] [out dir (out)] [epochs (2)]

Writes out/mlp.safetensors (the state dict, written with json and struct
only: the safetensors package is not in Debian) and out/torch_pred.npy
(PyTorch's predicted class for each of the 10,000 test images, 0-based),
and prints the test accuracy.  run.lua loads both.
"""
import json
import struct
import sys

import numpy as np
import torch

mnist = sys.argv[1] if len(sys.argv) > 1 else "data/mnist"
out = sys.argv[2] if len(sys.argv) > 2 else "out"
epochs = int(sys.argv[3]) if len(sys.argv) > 3 else 2
torch.manual_seed(0)
torch.set_num_threads(1)


def idx(name, offset, shape):
    with open("%s/%s" % (mnist, name), "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset).reshape(shape)


def images(name, n):
    return torch.tensor(idx(name, 16, (n, 784)), dtype=torch.float32) / 255


def labels(name, n):
    return torch.tensor(idx(name, 8, (n,)), dtype=torch.int64)


X, Y = images("train-images-idx3-ubyte", 60000), labels("train-labels-idx1-ubyte", 60000)
Xt, Yt = images("t10k-images-idx3-ubyte", 10000), labels("t10k-labels-idx1-ubyte", 10000)

net = torch.nn.Sequential(
    torch.nn.Linear(784, 128), torch.nn.ReLU(),
    torch.nn.Linear(128, 64), torch.nn.ReLU(),
    torch.nn.Linear(64, 10))
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
crit = torch.nn.CrossEntropyLoss()
for epoch in range(epochs):
    perm = torch.randperm(60000)
    for i in range(0, 60000, 64):
        b = perm[i:i + 64]
        opt.zero_grad()
        crit(net(X[b]), Y[b]).backward()
        opt.step()

with torch.no_grad():
    pred = net(Xt).argmax(1)
print("PyTorch test accuracy %.2f%%" % (100.0 * (pred == Yt).float().mean().item()))


def save_safetensors(path, state):
    """The safetensors layout: u64 header length, JSON header, data."""
    header, blobs, at = {}, [], 0
    for k in sorted(state):
        t = state[k].detach().contiguous().float()
        b = struct.pack("<%df" % t.numel(), *t.flatten().tolist())
        header[k] = {"dtype": "F32", "shape": list(t.shape),
                     "data_offsets": [at, at + len(b)]}
        blobs.append(b)
        at += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


save_safetensors("%s/mlp.safetensors" % out, net.state_dict())
np.save("%s/torch_pred.npy" % out, pred.numpy().astype(np.int64))
print("wrote %s/mlp.safetensors and %s/torch_pred.npy" % (out, out))
