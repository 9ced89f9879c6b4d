"""The twin of examples/names.lua in PyTorch: the same character-level
LSTM, from the same initial weights (DIR/init.safetensors, which names.lua
wrote), trained on the same batches in the same order (the same
Park-Miller generator and Fisher-Yates shuffle) with the same optimizer,
clipping and schedule; prints the held-out bits per character.

  python3 examples/names_torch.py WORDS DIR EPOCHS BATCH LR CLIP
"""
import json
import math
import re
import struct
import sys
import time

import torch

words, d = sys.argv[1], sys.argv[2]
epochs, batch_size = int(sys.argv[3]), int(sys.argv[4])
lr0, clip = float(sys.argv[5]), float(sys.argv[6])
torch.set_num_threads(1)
E, H, V, BOUNDARY = 24, 128, 27, 0          # ids 0-based here: "." 0, a..z 1..26


def read():
    train, val, k = [], [], 0
    with open(words, encoding="utf-8", errors="replace") as f:
        for line in f:
            w = line.rstrip("\n")
            if re.fullmatch(r"[A-Z][a-z]+", w):
                k += 1
                (val if k % 10 == 0 else train).append([ord(c) - 96 for c in w.lower()])
    return train, val


def random(seed):
    s = [seed % 2147483646 + 1]

    def uniform():
        s[0] = (s[0] * 16807) % 2147483647
        return s[0] / 2147483647
    return uniform


def shuffle(n, uniform):
    p = list(range(n))
    for i in range(n - 1, 0, -1):
        j = math.floor(uniform() * (i + 1))
        p[i], p[j] = p[j], p[i]
    return p


def batch(names):
    T = max(len(w) for w in names) + 1
    x = torch.full((len(names), T), BOUNDARY, dtype=torch.long)
    y = torch.full((len(names), T), -100, dtype=torch.long)
    for r, w in enumerate(names):
        x[r, 1:len(w) + 1] = torch.tensor(w)
        y[r, :len(w)] = torch.tensor(w)
        y[r, len(w)] = BOUNDARY
    return x, y


class Net(torch.nn.Module):
    """lua-nn's Sequential{Embedding, LSTM, Linear}: its state dict's keys"""

    def __init__(self):
        super().__init__()
        self.add_module("0", torch.nn.Embedding(V, E))
        self.add_module("1", torch.nn.LSTM(E, H, batch_first=True))
        self.add_module("2", torch.nn.Linear(H, V))

    def forward(self, x):
        h, _ = getattr(self, "1")(getattr(self, "0")(x))
        return getattr(self, "2")(h)


def load(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    header = json.loads(b[8:8 + n])
    state = {}
    for k, e in header.items():
        if k == "__metadata__":
            continue
        lo, hi = e["data_offsets"]
        vals = struct.unpack("<%df" % ((hi - lo) // 4), b[8 + n + lo:8 + n + hi])
        state[k] = torch.tensor(vals, dtype=torch.float32).reshape(e["shape"])
    return state


def bpc(net, names):
    net.eval()
    total, count = 0.0, 0
    crit = torch.nn.CrossEntropyLoss(ignore_index=-100, reduction="sum")
    with torch.no_grad():
        for first in range(0, len(names), 500):
            x, y = batch(names[first:first + 500])
            total += crit(net(x).reshape(-1, V), y.reshape(-1)).item()
            count += sum(len(w) + 1 for w in names[first:first + 500])
    net.train()
    return total / count / math.log(2)


train, val = read()
net = Net()
net.load_state_dict(load("%s/init.safetensors" % d), strict=True)
crit = torch.nn.CrossEntropyLoss(ignore_index=-100)
opt = torch.optim.Adam(net.parameters(), lr=lr0)
uniform = random(2024)
nb = (len(train) + batch_size - 1) // batch_size
steps, step = epochs * nb, 0
t0 = time.process_time()
for epoch in range(1, epochs + 1):
    order = shuffle(len(train), uniform)
    total = 0.0
    for b in range(nb):
        x, y = batch([train[i] for i in order[b * batch_size:(b + 1) * batch_size]])
        for g in opt.param_groups:
            g["lr"] = lr0 * 0.5 * (1 + math.cos(math.pi * step / steps))
        opt.zero_grad()
        loss = crit(net(x).reshape(-1, V), y.reshape(-1))
        total += loss.item()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), clip)
        opt.step()
        step += 1
    print("epoch %2d: training loss %.4f nats, held-out bits per character %.4f  (%.0f s)"
          % (epoch, total / nb, bpc(net, val), time.process_time() - t0), flush=True)
print("held-out bits per character %.4f" % bpc(net, val))
