"""PyTorch's side of spec/recurrent_spec.lua's grid: torch.nn.RNN, LSTM and
GRU (batch first) on the same weights, inputs, initial states and output
gradients as lua-nn's.

Reads a Python literal from stdin: a list of cases, each a dict with
"kind" (RNN, LSTM or GRU), "D", "H", "L", "bidir", "bias", "relu", "last"
(the output is h_n of the top layer, not every step), "state" (torch name
-> flat values), "x" (n rows of T*D), "h0", "c0" (n rows of L*dirs*H, or
absent: zeros) and "gy" (dL/d(output), as lua-nn lays the output out).
Prints a Lua table constructor with, for each case, y, gx, hn, cn (as
lua-nn lays states out: n x L*dirs*H), dh0, dc0 and the gradient of every
parameter by PyTorch's name, flat.
"""
import ast
import sys

import torch

torch.set_num_threads(1)


def case(c):
    D, H, L = int(c["D"]), int(c["H"]), int(c["L"])
    dirs = 2 if c["bidir"] else 1
    kw = dict(num_layers=L, bidirectional=bool(c["bidir"]), bias=bool(c["bias"]),
              batch_first=True)
    if c["kind"] == "RNN":
        m = torch.nn.RNN(D, H, nonlinearity="relu" if c["relu"] else "tanh", **kw)
    else:
        m = getattr(torch.nn, c["kind"])(D, H, **kw)
    state = {}
    for k, p in m.state_dict().items():
        state[k] = torch.tensor(c["state"][k], dtype=torch.float32).reshape(p.shape)
    m.load_state_dict(state, strict=True)
    n = len(c["x"])
    x = torch.tensor(c["x"], dtype=torch.float32).reshape(n, -1, D).requires_grad_()

    def lstate(key):      # lua-nn's n x (L dirs H) to PyTorch's (L dirs, n, H)
        if key not in c:
            return torch.zeros(L * dirs, n, H, requires_grad=True)
        t = torch.tensor(c[key], dtype=torch.float32).reshape(n, L * dirs, H)
        return t.transpose(0, 1).contiguous().requires_grad_()

    h0 = lstate("h0")
    if c["kind"] == "LSTM":
        c0 = lstate("c0")
        y, (hn, cn) = m(x, (h0, c0))
    else:
        c0, cn = None, None
        y, hn = m(x, h0)
    if c["last"]:         # the top layer's final states, directions side by side
        out = hn.reshape(L, dirs, n, H)[-1].permute(1, 0, 2).reshape(n, dirs * H)
    else:
        out = y.reshape(n, -1)
    out.backward(torch.tensor(c["gy"], dtype=torch.float32))

    def rows(t):          # PyTorch's (L dirs, n, H) to lua-nn's rows
        return t.detach().transpose(0, 1).reshape(n, -1).tolist()

    r = {"y": out.detach().tolist(), "gx": x.grad.reshape(n, -1).tolist(),
         "hn": rows(hn), "dh0": rows(h0.grad),
         "grads": {k: [p.grad.reshape(-1).tolist()] for k, p in m.named_parameters()}}
    if cn is not None:
        r["cn"] = rows(cn)
        r["dc0"] = rows(c0.grad)
    return r


def lua(v):
    if isinstance(v, dict):
        return "{" + ", ".join("[%r] = %s" % (k, lua(x)) for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "{" + ", ".join(lua(x) for x in v) + "}"
    return "%.9g" % v          # float32's values exactly, and short


# each case in a function of its own: Lua 5.1 allows 2^18 constants a
# function, and the grid's results hold more
cases = ast.literal_eval(sys.stdin.read())
print("return {" + ",\n".join("(function() return %s end)()" % lua(case(c)) for c in cases) + "}")
