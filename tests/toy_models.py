"""Custom models for the tests: a recurrent one that keeps the contract, and modules that each break
one rule of it (docs/guides/custom-model.md)."""

from __future__ import annotations

import torch
from torch import nn


class TinyGRU(nn.Module):
    """A recurrent custom model: a GRU cell on a linear encoder; its state is one tensor [B, 16]."""

    def __init__(self, obs_shape, num_outputs, model_config):
        super().__init__()
        self.size = model_config["custom_model_config"].get("size", 16)
        self.encode = nn.Linear(obs_shape[0], self.size)
        self.cell = nn.GRUCell(self.size, self.size)
        self.policy = nn.Linear(self.size, num_outputs)
        self.value = nn.Linear(self.size, 1)

    def initial_state(self, batch):
        return (torch.zeros(batch, self.size),)

    def forward(self, obs, state):
        h = self.cell(torch.tanh(self.encode(obs)), state[0])
        return self.policy(h), self.value(h).squeeze(-1), (h,)


class SmallConv(nn.Module):
    """A conv net of its own for image observations (float32 in [0, 1], channels first)."""

    def __init__(self, obs_shape, num_outputs, model_config):
        super().__init__()
        channels, height, width = obs_shape
        self.conv = nn.Sequential(nn.Conv2d(channels, 4, 3, 2), nn.ReLU(), nn.Flatten())
        size = 4 * ((height - 3) // 2 + 1) * ((width - 3) // 2 + 1)
        self.policy = nn.Linear(size, num_outputs)
        self.value = nn.Linear(size, 1)

    def forward(self, obs):
        x = self.conv(obs)
        return self.policy(x), self.value(x).squeeze(-1)


class _Base(nn.Module):
    def __init__(self, obs_shape, num_outputs, model_config):
        super().__init__()
        self.body = nn.Linear(obs_shape[0], num_outputs + 1)
        self.num_outputs = num_outputs


class ValueNotSqueezed(_Base):
    def forward(self, obs):
        out = self.body(obs)
        return out[:, :-1], out[:, -1:]


class WrongParamsSize(_Base):
    def forward(self, obs):
        out = self.body(obs)
        return out, out[:, -1]


class OneOutput(_Base):
    def forward(self, obs):
        return self.body(obs)


class Detached(_Base):
    def forward(self, obs):
        out = self.body(obs).detach()
        return out[:, :-1], out[:, -1]


class Raises(_Base):
    def forward(self, obs):
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")


class NoParameters(nn.Module):
    def __init__(self, obs_shape, num_outputs, model_config):
        super().__init__()
        self.num_outputs = num_outputs

    def forward(self, obs):
        return obs.new_zeros(obs.shape[0], self.num_outputs), obs.new_zeros(obs.shape[0])


class BadConstructor(nn.Module):
    def __init__(self, obs_shape):
        super().__init__()


class StateNotZero(TinyGRU):
    def initial_state(self, batch):
        return (torch.ones(batch, self.size),)


class BranchesOnData(_Base):
    """Traceable only in form: the branch taken while tracing is baked into the graph."""

    def forward(self, obs):
        out = self.body(obs)
        if float(obs[0, 0]) > 0:
            out = -out
        return out[:, :-1], out[:, -1]


NOT_A_MODULE = "just a string"
