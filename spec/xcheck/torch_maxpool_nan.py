"""PyTorch's max pooling on windows holding NaN and infinities, for
spec/conv_bounds_spec.lua.

Reads a Python literal from stdin: a list of cases {"x": [strings], "H",
"W", "k", "s", "p", "d"}, one image of one channel, x row by row with
"nan", "inf", "-inf" or a number.  The gradient of output j (row-major,
1-based) is j, so where each lands says which element each window chose.
Prints a Lua chunk: for each case {y = {strings}, gx = {numbers}}.
"""
import ast
import sys

import torch
import torch.nn.functional as F


def run(c):
    H, W = int(c["H"]), int(c["W"])
    x = torch.tensor([float(v) for v in c["x"]], dtype=torch.float32)
    x = x.view(1, 1, H, W).requires_grad_()
    y = F.max_pool2d(x, int(c["k"]), stride=int(c["s"]), padding=int(c["p"]),
                     dilation=int(c["d"]))
    y.backward(torch.arange(1, y.numel() + 1, dtype=torch.float32).view(y.shape))
    ys = ["nan" if v != v else repr(v) for v in y.reshape(-1).tolist()]
    return "{y = {%s}, gx = {%s}}" % (
        ", ".join('"%s"' % v for v in ys),
        ", ".join(repr(v) for v in x.grad.reshape(-1).tolist()))


cases = ast.literal_eval(sys.stdin.read())
print("return {" + ", ".join(run(c) for c in cases) + "}")
