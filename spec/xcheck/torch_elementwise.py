"""Reference values from PyTorch for spec/matrix_math_spec.lua.

Reads a Python literal from stdin: a list of cases, each a dict with "op",
"a" (a nested list), and "b" (a nested list or a number) or the op's
parameters.  Prints a Lua table constructor with each case's result
(float32, CPU): a nested list, or a number for a full reduction.
"""
import ast
import sys

import torch

torch.set_num_threads(1)


def t(v):
    return torch.tensor(v, dtype=torch.float32)


def run(c):
    op, a = c["op"], t(c["a"])
    b = c.get("b")
    if isinstance(b, list):
        b = t(b)
    if op == "add":
        y = a + b
    elif op == "sub":
        y = a - b
    elif op == "mul":
        y = a * b
    elif op == "div":
        y = a / b
    elif op == "rdiv":
        y = b / a
    elif op in ("exp", "log", "sqrt", "abs"):
        y = getattr(torch, op)(a)
    elif op == "pow":
        y = torch.pow(a, c["p"])
    elif op == "clamp":
        y = torch.clamp(a, c["lo"], c["hi"])
    elif op in ("std", "var"):
        f = getattr(torch, op)
        if "dim" not in c:
            return f(a).item()
        # lua-nn's dim 1 (down the rows) keeps a 1 x c row, dim 2 a column
        y = f(a, dim=c["dim"] - 1, keepdim=True)
    else:
        raise ValueError(op)
    return y.tolist()


def lua(v):
    if isinstance(v, (list, tuple)):
        return "{" + ", ".join(lua(x) for x in v) + "}"
    v = float(v)
    if v != v:
        return "(0/0)"
    if v in (float("inf"), float("-inf")):
        return "(1/0)" if v > 0 else "(-1/0)"
    return repr(v)


cases = ast.literal_eval(sys.stdin.read())
print("return " + lua([run(c) for c in cases]))
