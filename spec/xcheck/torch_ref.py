"""Reference values from PyTorch for spec/xcheck_spec.lua.

Reads a Python literal from stdin: a list of cases, each a dict with
"op" and its inputs (nested lists of floats, float32-exact).  Prints a Lua
table constructor with, for each case, the outputs and gradients PyTorch
computes (float32, CPU).  Class labels arrive 1-based, as in lua-nn.
"""
import ast
import sys

import torch
import torch.nn.functional as F

torch.set_num_threads(1)


def t(v, grad=False):
    return torch.tensor(v, dtype=torch.float32, requires_grad=grad)


def layer(c):
    x = t(c["x"], True)
    gy = t(c["gy"])
    op, a = c["op"], c.get("a")
    params = []
    if op == "Linear":
        w, b = t(c["w"], True), t(c["b"][0], True)   # bias: 1 x n in Lua
        params = [w, b]
        y = F.linear(x, w, b)
    elif op == "Sigmoid":
        y = torch.sigmoid(x)
    elif op == "Tanh":
        y = torch.tanh(x)
    elif op == "ReLU":
        y = F.relu(x)
    elif op == "LeakyReLU":
        y = F.leaky_relu(x, a)
    elif op == "ELU":
        y = F.elu(x, a)
    elif op == "Softplus":
        y = F.softplus(x, beta=a, threshold=1e30)
    elif op == "Softmax":
        y = F.softmax(x, dim=1)
    elif op == "LogSoftmax":
        y = F.log_softmax(x, dim=1)
    elif op == "Identity":
        y = x * 1
    elif op == "Sign":
        y = torch.sign(x)
    elif op == "PiecewiseLinear":
        y = torch.clamp(x + 0.5, 0, 1)
    elif op == "GELU":
        y = F.gelu(x, approximate=c["approximate"])
    elif op in ("Conv2d", "MaxPool2d", "AvgPool2d"):
        # images as rows in (C, H, W) order, as lua-nn keeps them
        g = c["conf"]
        n = len(c["x"])
        xi = x.view(n, int(g["C"]), int(g["H"]), int(g["W"]))
        k = (int(g["kh"]), int(g["kw"]))
        st, pd = (int(g["sh"]), int(g["sw"])), (int(g["ph"]), int(g["pw"]))
        dl = (int(g["dh"]), int(g["dw"]))
        if op == "Conv2d":
            w = t(c["w"], True)
            params = [w]
            b = None
            if "b" in c:
                b = t(c["b"][0], True)
                params.append(b)
            wi = w.view(w.shape[0], int(g["C"]), k[0], k[1])
            y = F.conv2d(xi, wi, b, stride=st, padding=pd, dilation=dl)
        elif op == "MaxPool2d":
            y = F.max_pool2d(xi, k, stride=st, padding=pd, dilation=dl)
        else:
            y = F.avg_pool2d(xi, k, stride=st, padding=pd,
                             count_include_pad=bool(g["inpad"]))
        y = y.reshape(n, -1)
    elif op == "BatchNorm":
        # (n, C, S): S = H W for BatchNorm2d, 1 for BatchNorm1d
        g = c["conf"]
        n, C, S = len(c["x"]), int(g["C"]), int(g["S"])
        rm, rv = t(c["rm"][0]), t(c["rv"][0])
        w = b = None
        if g["affine"]:
            w, b = t(c["w"][0], True), t(c["b"][0], True)
            params = [w, b]
        y = F.batch_norm(x.view(n, C, S), rm, rv, w, b, training=bool(g["train"]),
                         momentum=g["momentum"], eps=g["eps"]).reshape(n, -1)
    elif op == "Step":          # no autograd for heaviside: derivative 0
        y = torch.heaviside(x.detach(), torch.tensor(0.5)) + 0 * x
    else:
        raise ValueError(op)
    y.backward(gy)
    out = {"y": y.tolist(), "gx": x.grad.tolist()}
    if params:
        gw = params[0].grad
        out["gw"] = gw.tolist() if gw.dim() == 2 else [gw.tolist()]
        if len(params) > 1:
            out["gb"] = [params[1].grad.tolist()]
    if op == "BatchNorm":
        out["rm"], out["rv"] = [rm.tolist()], [rv.tolist()]
    return out


def loss(c):
    x = t(c["x"], True)
    op, red, tg = c["op"], c["reduction"], c["target"]
    if op in ("CrossEntropyLoss", "NLLLoss"):
        f = F.cross_entropy if op == "CrossEntropyLoss" else F.nll_loss
        # a class index equal to the loss's ignoreIndex is PyTorch's -100
        ign = c.get("ignore", -100)

        def index(v):
            return -100 if v == ign else int(v) - 1
        if "steps" in c:
            # rows of T steps of C: PyTorch's (n, C, T) and an (n, T) target
            n, T = len(c["x"]), int(c["steps"])
            xi = x.view(n, T, -1).permute(0, 2, 1)
            target = torch.tensor([[index(v) for v in row] for row in tg])
            L = f(xi, target, reduction=red, ignore_index=-100)
        elif isinstance(tg[0], list):
            target = t(tg)
            if op == "NLLLoss":
                L = -(x * target).sum() / (x.shape[0] if red == "mean" else 1)
            else:
                L = f(x, target, reduction=red)
        else:
            target = torch.tensor([index(v) for v in tg])
            L = f(x, target, reduction=red, ignore_index=-100)
    else:
        target = t(tg)
        f = {"MSELoss": F.mse_loss, "L1Loss": F.l1_loss,
             "BCELoss": F.binary_cross_entropy,
             "BCEWithLogitsLoss": F.binary_cross_entropy_with_logits}[op]
        L = f(x, target, reduction=red)
    L.backward()
    return {"loss": L.item(), "gx": x.grad.tolist()}


def clipping(c):
    """torch.nn.utils' clipping of gradients gs: the total norm returned and
    the gradients after"""
    ps = []
    for g in c["gs"]:
        p = torch.zeros(len(g), len(g[0]), requires_grad=True)
        p.grad = t(g)
        ps.append(p)
    out = {}
    if "value" in c:
        torch.nn.utils.clip_grad_value_(ps, c["value"])
    else:
        p = float("inf") if c["p"] == "inf" else c["p"]
        out["norm"] = float(torch.nn.utils.clip_grad_norm_(ps, c["max"], norm_type=p))
    out["gs"] = [q.grad.tolist() for q in ps]
    return out


def lua(v):
    if isinstance(v, dict):
        return "{" + ", ".join("%s = %s" % (k, lua(x)) for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "{" + ", ".join(lua(x) for x in v) + "}"
    return repr(float(v))


cases = ast.literal_eval(sys.stdin.read())
res = [layer(c) if c["kind"] == "layer" else clipping(c) if c["kind"] == "clip"
       else loss(c) for c in cases]
print("return " + lua(res))
