"""Reference values from PyTorch for the registry's examples
(spec/xcheck_spec.lua, "every kind's examples").

Reads a Python literal from stdin: a list of cases, each a dict with
"torch" (the kind's PyTorch expression from its descriptor, a module or a
function), "state" (the layer's state dict: torch name -> {"v": flat
values, "shape": PyTorch's shape} or {"int": n}), "x" (the input rows),
"view" (the input's shape for PyTorch, -1 for the batch), "ids" (the input
holds token ids, 1-based), "gy" (dL/dy rows) and "train".  Prints a Lua
table constructor with, for each case, y and gx as rows, and the gradient
and value of each parameter and the value of each buffer after the
forward (Embedding's maxNorm changes the weight), flat, by PyTorch's
name.
"""
import ast
import sys

import torch

torch.set_num_threads(1)


def make(expr):
    try:
        return eval(expr, {"torch": torch})
    except TypeError:
        # PyTorch before 2.1 (Debian 12 has 1.13) has no LayerNorm(bias=False):
        # the same layer is one whose bias is None
        if "LayerNorm(" not in expr or ", bias=False" not in expr:
            raise
        made = eval(expr.replace(", bias=False", ""), {"torch": torch})
        made.register_parameter("bias", None)
        return made


def case(c):
    made = make(c["torch"])
    if isinstance(made, torch.nn.Module):
        state = {}
        for k, v in c["state"].items():
            if "int" in v:
                state[k] = torch.tensor(int(v["int"]))
            else:
                shape = [int(d) for d in v["shape"]]
                state[k] = torch.tensor(v["v"], dtype=torch.float32).reshape(shape)
        made.load_state_dict(state, strict=True)
        made.train(bool(c["train"]))
    n = len(c["x"])
    view = [n if int(d) == -1 else int(d) for d in c["view"]]
    if c["ids"]:
        x = (torch.tensor(c["x"], dtype=torch.float64).reshape(view) - 1).long()
    else:
        x = torch.tensor(c["x"], dtype=torch.float32).reshape(view).requires_grad_()
    y = made(x)
    if isinstance(y, tuple):
        y = y[0]
    y = y.reshape(n, -1)
    y.backward(torch.tensor(c["gy"], dtype=torch.float32))
    out = {"y": y.tolist()}
    if not c["ids"]:
        out["gx"] = x.grad.reshape(n, -1).tolist()
    if isinstance(made, torch.nn.Module):
        out["grads"] = {k: [p.grad.reshape(-1).tolist() if p.grad is not None
                            else [0.0] * p.numel()]
                        for k, p in made.named_parameters()}
        out["values"] = {k: [p.detach().reshape(-1).tolist()]
                         for k, p in made.named_parameters()}
        out["buffers"] = {k: [b.reshape(-1).tolist()]
                          for k, b in made.named_buffers() if b.is_floating_point()}
    return out


def lua(v):
    if isinstance(v, dict):
        return "{" + ", ".join("[%r] = %s" % (k, lua(x)) for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "{" + ", ".join(lua(x) for x in v) + "}"
    return repr(float(v))


cases = ast.literal_eval(sys.stdin.read())
print("return " + lua([case(c) for c in cases]))
