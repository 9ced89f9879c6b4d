"""PyTorch's side of bench/run.lua: the same workloads, timed the same way,
one timing at a time as bench/run.lua asks, so that its timings and these
alternate (the machine's speed drifts over seconds; pairs taken close
together keep their ratio).

argv: cmd, a named pipe.  Each line read from it, "name threads round",
is answered with one line on standard output: the seconds of one call of
the workload (the mean of its n calls, after one call to warm up), or
"nan" where it cannot run (no MNIST for the epoch).  "quit", or the end
of cmd, ends it.  The epoch reads MNIST from $BENCH_MNIST (data/mnist).
"""
import os
import sys
import time

import numpy
import torch

torch.manual_seed(1)


def mlp():
    return torch.nn.Sequential(
        torch.nn.Linear(784, 256), torch.nn.ReLU(),
        torch.nn.Linear(256, 128), torch.nn.ReLU(),
        torch.nn.Linear(128, 10))


# each workload returns (f, n, warm): one timing is n calls of f(round),
# after one more to warm up where warm is true


def train(make, batch, n, adam=False, shape=(784,)):
    net = make()
    if adam:
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    else:
        opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    crit = torch.nn.CrossEntropyLoss()
    x = torch.rand(batch, *shape)
    y = torch.randint(0, 10, (batch,))

    def step(r=0):
        opt.zero_grad()
        loss = crit(net(x), y)
        loss.backward()
        opt.step()
    return step, n, True


def infer(make, batch, n, shape=(784,)):
    net = make().eval()
    x = torch.rand(batch, *shape)

    def f(r=0):
        with torch.no_grad():
            net(x)
    return f, n, True


def cnn():
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 5, padding=2), torch.nn.BatchNorm2d(16), torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 5, padding=2), torch.nn.BatchNorm2d(32), torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(32 * 7 * 7, 128), torch.nn.ReLU(),
        torch.nn.Linear(128, 10))


def example():
    """examples/mnist_cnn.lua's network"""
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(32 * 7 * 7, 128), torch.nn.ReLU(),
        torch.nn.Dropout(0.25), torch.nn.Linear(128, 10))


def conv(c, o, h, batch, n, backward=False):
    """one Conv2d: forward, or backward alone (dW, db, and dx but for the
    first layer), the graph kept between the timings"""
    m = torch.nn.Conv2d(c, o, 5, padding=2)
    x = torch.rand(batch, c, h, h, requires_grad=c > 1)
    if not backward:
        def f(r=0):
            with torch.no_grad():
                m(x)
        return f, n, True
    y = m(x)
    g = torch.rand_like(y)
    return lambda r=0: y.backward(g, retain_graph=True), n, True


def epoch():
    """one epoch of the example's training on the first 10,000 MNIST
    training images: Adam, batch 64, shuffled"""
    d = os.environ.get("BENCH_MNIST", "data/mnist")
    try:
        with open(os.path.join(d, "train-images-idx3-ubyte"), "rb") as f:
            raw = numpy.frombuffer(f.read(), dtype=numpy.uint8, offset=16)
        with open(os.path.join(d, "train-labels-idx1-ubyte"), "rb") as f:
            labels = numpy.frombuffer(f.read(), dtype=numpy.uint8, offset=8)
    except OSError:
        return None
    X = torch.tensor(raw[:10000 * 784].reshape(10000, 1, 28, 28), dtype=torch.float32) / 255
    Y = torch.tensor(labels[:10000], dtype=torch.int64)

    def f(r):
        torch.manual_seed(r)
        net = example().train()
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        crit = torch.nn.CrossEntropyLoss()
        perm = torch.randperm(10000)
        for i in range(0, 10000, 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            loss = crit(net(X[idx]), Y[idx])
            loss.backward()
            opt.step()
    return f, 1, False


IMAGE = (1, 28, 28)
# the recurrent rows (bench/run.lua's lstmtrain32 and lstmgen1)
LSTM_D, LSTM_H, LSTM_T, LSTM_C = 256, 256, 32, 64


class CharCore(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(LSTM_D, LSTM_H, batch_first=True)
        self.head = torch.nn.Linear(LSTM_H, LSTM_C)

    def forward(self, x):
        return self.head(self.lstm(x)[0])


def lstmtrain(batch, n):
    net = CharCore()
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    crit = torch.nn.CrossEntropyLoss()
    x = torch.randn(batch, LSTM_T, LSTM_D)
    y = torch.randint(0, LSTM_C, (batch * LSTM_T,))

    def step(r=0):
        opt.zero_grad()
        loss = crit(net(x).reshape(-1, LSTM_C), y)
        loss.backward()
        opt.step()
    return step, n, True


def lstmgen(n):
    lstm, head = torch.nn.LSTM(LSTM_D, LSTM_H).eval(), torch.nn.Linear(LSTM_H, LSTM_C).eval()
    x = torch.randn(1, 1, LSTM_D)
    state = [(torch.zeros(1, 1, LSTM_H), torch.zeros(1, 1, LSTM_H))]

    def f(r=0):
        with torch.no_grad():
            y, state[0] = lstm(x, state[0])
            head(y)
    return f, n, True


workloads = dict([
    ("train64", lambda: train(mlp, 64, 200)),
    ("adam64", lambda: train(mlp, 64, 200, adam=True)),
    ("train256", lambda: train(mlp, 256, 60)),
    ("infer1", lambda: infer(mlp, 1, 2000)),
    ("infer1000", lambda: infer(mlp, 1000, 30)),
    ("cnntrain64", lambda: train(cnn, 64, 20, shape=IMAGE)),
    ("cnninfer1", lambda: infer(cnn, 1, 500, shape=IMAGE)),
    ("cnninfer64", lambda: infer(cnn, 64, 30, shape=IMAGE)),
    ("conv1f", lambda: conv(1, 16, 28, 64, 50)),
    ("conv1b", lambda: conv(1, 16, 28, 64, 50, backward=True)),
    ("conv2f", lambda: conv(16, 32, 14, 64, 20)),
    ("conv2b", lambda: conv(16, 32, 14, 64, 20, backward=True)),
    ("epoch", epoch),
    ("lstmtrain32", lambda: lstmtrain(32, 10)),
    ("lstmgen1", lambda: lstmgen(2000)),
])


def serve(cmdpath, res):
    """answers bench/run.lua's requests until "quit" or the end of cmd;
    each workload is made the first time it is asked for"""
    made = {}
    with open(cmdpath) as cmd:
        for line in cmd:
            words = line.split()
            if not words or words[0] == "quit":
                break
            name, threads, rnd = words[0], int(words[1]), int(words[2])
            if name not in made:
                torch.manual_seed(1)
                made[name] = workloads[name]() if name in workloads else None
            secs = float("nan")
            if made[name] is not None:
                f, n, warm = made[name]
                torch.set_num_threads(threads)
                if warm:
                    f(rnd)
                t = time.perf_counter()
                for _ in range(n):
                    f(rnd)
                secs = (time.perf_counter() - t) / n
            # the intra-op threads spin a while after a parallel region:
            # let them sleep before lua-nn's next timing starts
            time.sleep(0.02)
            res.write("%.9g\n" % secs)
            res.flush()


serve(sys.argv[1], sys.stdout)
