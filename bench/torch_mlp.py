"""PyTorch's side of bench/run.lua: the same workloads, timed the same way.

argv: threads repeats; prints one line per workload: name median_seconds
"""
import statistics
import sys
import time

import torch

threads, repeats = int(sys.argv[1]), int(sys.argv[2])
torch.set_num_threads(threads)
torch.manual_seed(1)


def mlp():
    return torch.nn.Sequential(
        torch.nn.Linear(784, 256), torch.nn.ReLU(),
        torch.nn.Linear(256, 128), torch.nn.ReLU(),
        torch.nn.Linear(128, 10))


def median_time(f, n):
    f()                                    # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(n):
            f()
        times.append((time.perf_counter() - t) / n)
    return statistics.median(times)


def train(make, batch, n, adam=False, shape=(784,)):
    net = make()
    if adam:
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    else:
        opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    crit = torch.nn.CrossEntropyLoss()
    x = torch.rand(batch, *shape)
    y = torch.randint(0, 10, (batch,))

    def step():
        opt.zero_grad()
        loss = crit(net(x), y)
        loss.backward()
        opt.step()
    return median_time(step, n)


def infer(make, batch, n, shape=(784,)):
    net = make().eval()
    x = torch.rand(batch, *shape)

    def f():
        with torch.no_grad():
            net(x)
    return median_time(f, n)


def cnn():
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 5, padding=2), torch.nn.BatchNorm2d(16), torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 5, padding=2), torch.nn.BatchNorm2d(32), torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(32 * 7 * 7, 128), torch.nn.ReLU(),
        torch.nn.Linear(128, 10))


IMAGE = (1, 28, 28)
print("train64", train(mlp, 64, 200))
print("adam64", train(mlp, 64, 200, adam=True))
print("train256", train(mlp, 256, 60))
print("infer1", infer(mlp, 1, 2000))
print("infer1000", infer(mlp, 1000, 30))
print("cnntrain64", train(cnn, 64, 20, shape=IMAGE))
print("cnninfer1", infer(cnn, 1, 500, shape=IMAGE))
print("cnninfer64", infer(cnn, 64, 30, shape=IMAGE))


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

    def step():
        opt.zero_grad()
        loss = crit(net(x).reshape(-1, LSTM_C), y)
        loss.backward()
        opt.step()
    return median_time(step, n)


def lstmgen(n):
    lstm, head = torch.nn.LSTM(LSTM_D, LSTM_H).eval(), torch.nn.Linear(LSTM_H, LSTM_C).eval()
    x = torch.randn(1, 1, LSTM_D)
    state = [(torch.zeros(1, 1, LSTM_H), torch.zeros(1, 1, LSTM_H))]

    def f():
        with torch.no_grad():
            y, state[0] = lstm(x, state[0])
            head(y)
    return median_time(f, n)


print("lstmtrain32", lstmtrain(32, 10))
print("lstmgen1", lstmgen(2000))
