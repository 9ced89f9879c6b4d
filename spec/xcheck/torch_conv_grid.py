"""PyTorch's answers for spec/conv_bounds_spec.lua's grid of image layers.

Reads a Python literal from stdin: {"blob": path, "cases": "op H W kh kw sh
sw ph pw dh dw;..."} with op C (Conv2d, 2 -> 3 channels, bias), M
(MaxPool2d), A or a (AvgPool2d counting the padding or not), each on a
batch of 2 images of 2 channels.  Inputs are not sent: every tensor is
seq(tag, n) below, which the spec computes the same way, chosen so that
sums stay exact in float32 (dyadic values, small magnitudes).

Writes to blob, for each case PyTorch accepts, in order, little-endian
float32: y, dL/dx, and for Conv2d dL/dW (3 x 2*kh*kw) and dL/db; prints a
Lua chunk returning one string, per case "OH OW", "x" (PyTorch
refused it) or "-" (the rule in refused() does, not asked: see main),
separated by ";".  A max-pool window with no tap inside the image gives
-inf; PyTorch 1.13 then sends its gradient to a wrong element (its index
names the tap past the row), so such outputs' gy is zeroed here: lua-nn
sends them none.
"""
import ast
import sys

import torch
import torch.nn.functional as F

torch.set_num_threads(1)
N, C, O = 2, 2, 3
TAGS = {"x": 1, "w": 2, "b": 3, "gy": 4}
_cache = {}


def seq(tag, n):
    """((i * 37 + tag * 101) mod 61 - 30) / 16 for i = 0..n-1: float32-exact"""
    key = (tag, n)
    if key not in _cache:
        i = torch.arange(n, dtype=torch.int64)
        _cache[key] = (((i * 37 + TAGS[tag] * 101) % 61 - 30).to(torch.float32) / 16)
    return _cache[key].clone()


def run(op, H, W, kh, kw, sh, sw, ph, pw, dh, dw):
    x = seq("x", N * C * H * W).view(N, C, H, W).requires_grad_()
    k, st, pd, dl = (kh, kw), (sh, sw), (ph, pw), (dh, dw)
    params = []
    if op == "C":
        w = seq("w", O * C * kh * kw).view(O, C, kh, kw).requires_grad_()
        b = seq("b", O).requires_grad_()
        params = [w, b]
        y = F.conv2d(x, w, b, stride=st, padding=pd, dilation=dl)
    elif op == "M":
        y = F.max_pool2d(x, k, stride=st, padding=pd, dilation=dl)
    else:
        y = F.avg_pool2d(x, k, stride=st, padding=pd, count_include_pad=op == "A")
    gy = seq("gy", y.numel()).view(y.shape)
    if op == "M":
        gy = torch.where(torch.isinf(y.detach()), torch.zeros_like(gy), gy)
    y.backward(gy)
    out = [y.detach().reshape(-1), x.grad.reshape(-1)]
    out += [p.grad.reshape(-1) for p in params]
    return y.shape[2], y.shape[3], torch.cat(out)


def refused(op, H, W, kh, kw, sh, sw, ph, pw, dh, dw):
    """PyTorch's rule: the dilated kernel fits the padded image, and a
    pool's padding is at most half its kernel (1.13: the kernel, not the
    dilated kernel)"""
    if H + 2 * ph < dh * (kh - 1) + 1 or W + 2 * pw < dw * (kw - 1) + 1:
        return True
    return op != "C" and (2 * ph > kh or 2 * pw > kw)


def main():
    req = ast.literal_eval(sys.stdin.read())
    ask = int(req.get("ask", 25))
    status, nref = [], 0
    with open(req["blob"], "wb") as f:
        for case in req["cases"].split(";"):
            if not case:
                continue
            f_ = case.split()
            args = list(map(int, f_[1:]))
            # A refusal costs PyTorch 1.13 about 10 ms (its error records
            # a C++ backtrace): one in `ask` of those the rule refuses is
            # put to PyTorch ("x"), the rest answered by the rule ("-").
            # PyTorch runs every case the rule accepts, so a rule that
            # refused too much would show there.
            if refused(f_[0], *args):
                nref += 1
                if nref % ask != 1 and ask != 1:
                    status.append("-")
                    continue
            try:
                oh, ow, data = run(f_[0], *args)
            except RuntimeError:
                status.append("x")
                continue
            f.write(data.numpy().astype("<f4").tobytes())
            status.append("%d %d" % (oh, ow))
    print("return %r" % ";".join(status))


main()
