"""Small models for the Python tests (defined in a file so that torch.jit.script can read their
source)."""

import torch
from torch import nn


class ConvNet(nn.Module):
    """conv -> batch norm -> relu -> max pool -> global average -> linear."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        y = self.pool(torch.relu(self.bn(self.conv(x))))
        return self.fc(y.mean([2, 3]))


class TwoInOut(nn.Module):
    """Two inputs, a tuple of two outputs."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(6, 4)

    def forward(self, x, y):
        h = self.lin(x)
        return torch.sigmoid(h) * y, torch.tanh(h) + 1.0


class Unsupported(nn.Module):
    def forward(self, x):
        return torch.logcumsumexp(torch.relu(x), 1)


class Elementwise(nn.Module):
    """relu(x) + 1: compiles for any input shape without allocating anything."""

    def forward(self, x):
        return torch.relu(x) + 1.0


def conv_net():
    torch.manual_seed(0)
    m = ConvNet().eval()
    # Non-trivial batch-norm statistics, so that folding them is tested.
    m.bn.running_mean.uniform_(-0.5, 0.5)
    m.bn.running_var.uniform_(0.5, 2.0)
    return torch.jit.script(m)


def two_in_out():
    torch.manual_seed(0)
    return torch.jit.script(TwoInOut().eval())


def elementwise():
    return torch.jit.script(Elementwise())


def unsupported():
    return torch.jit.script(Unsupported())


class TokenModel(torch.nn.Module):
    """Token ids (int64) and a 0/1 mask in, float features out: an embedding, a masked mean."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(3)
        self.emb = torch.nn.Embedding(11, 6)

    def forward(self, ids, mask):
        m = mask.to(torch.float32).unsqueeze(-1)
        return (self.emb(ids) * m).sum(1) / m.sum(1).clamp_min(1.0)


def saved_and_loaded_traced_token_model(path):
    """The TokenModel traced, saved and loaded again: its inputs are plain `Tensor`s then."""
    ids = torch.tensor([[1, 2, 3, 4, 0], [5, 6, 7, 8, 9]])
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    torch.jit.save(torch.jit.trace(TokenModel().eval(), (ids, mask)), str(path))
    return torch.jit.load(str(path)), (ids, mask)
