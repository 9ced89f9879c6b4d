"""safetensors written and read with json and struct only (the safetensors
package is not in Debian), for the PyTorch sides of the weight specs:
save(path, state_dict) and load(path) -> state_dict, F32 and I64."""
import json
import struct

import torch


FMT = {"F32": ("f", torch.float32, 4), "I64": ("q", torch.int64, 8)}


def save(path, state):
    header, blobs, at = {}, [], 0
    for k in sorted(state):
        t = state[k].detach().contiguous()
        name = "I64" if t.dtype == torch.int64 else "F32"
        fmt = FMT[name][0]
        b = struct.pack("<%d%s" % (t.numel(), fmt), *t.flatten().tolist())
        header[k] = {"dtype": name, "shape": list(t.shape),
                     "data_offsets": [at, at + len(b)]}
        blobs.append(b)
        at += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def load(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    header = json.loads(b[8:8 + n])
    state = {}
    for k, e in header.items():
        if k == "__metadata__":
            continue
        fmt, dtype, w = FMT[e["dtype"]]
        lo, hi = e["data_offsets"]
        vals = struct.unpack("<%d%s" % ((hi - lo) // w, fmt), b[8 + n + lo:8 + n + hi])
        state[k] = torch.tensor(vals, dtype=dtype).reshape(e["shape"])
    return state
