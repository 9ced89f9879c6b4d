"""Reference parameters from torch.optim for spec/optim_spec.lua.

Reads a list of cases: {"opt": name, "options": {lua-nn option: value},
"p0": matrix, "grads": [matrix, ...]}.  Applies one step per gradient and
prints the final parameters as a Lua table constructor.
"""
import ast
import sys

import torch

torch.set_num_threads(1)

NAMES = {"weightDecay": "weight_decay", "lrDecay": "lr_decay",
         "initialAccumulatorValue": "initial_accumulator_value"}


def run(c):
    p = torch.tensor(c["p0"], dtype=torch.float32, requires_grad=True)
    kw = {NAMES.get(k, k): (tuple(v) if k == "betas" else v)
          for k, v in c["options"].items()}
    opt = getattr(torch.optim, c["opt"])([p], foreach=False, **kw)
    for g in c["grads"]:
        p.grad = torch.tensor(g, dtype=torch.float32)
        opt.step()
    return p.detach().tolist()


def lua(v):
    if isinstance(v, list):
        return "{" + ", ".join(lua(x) for x in v) + "}"
    return repr(float(v))


cases = ast.literal_eval(sys.stdin.read())
print("return " + lua([run(c) for c in cases]))
