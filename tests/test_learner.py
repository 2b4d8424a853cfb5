"""The driver's flat Adam against torch.optim.Adam: the same updates, step for step."""

import numpy as np
import torch

from a3c.agents.base import FlatAdam


def test_flat_adam_takes_torch_adams_steps():
    rng = np.random.default_rng(0)
    start = rng.normal(size=257).astype(np.float32)
    ours = torch.nn.Parameter(torch.from_numpy(start.copy()))
    reference = torch.nn.Parameter(torch.from_numpy(start.copy()))
    flat_adam = FlatAdam(ours, lr=3e-3)
    torch_adam = torch.optim.Adam([reference], lr=3e-3)
    for step in range(8):
        grad = rng.normal(size=257).astype(np.float32) * (10.0 if step == 3 else 1.0)
        flat_adam.lr = torch_adam.param_groups[0]["lr"] = 3e-3 / (step + 1)  # an annealed rate is taken at once
        flat_adam.step(torch.from_numpy(grad.copy()))
        reference.grad = torch.from_numpy(grad.copy())
        torch_adam.step()
        np.testing.assert_allclose(ours.detach().numpy(), reference.detach().numpy(), rtol=1e-5, atol=1e-6)
    moments = torch_adam.state[reference]
    for key in ("exp_avg", "exp_avg_sq", "step"):
        np.testing.assert_allclose(flat_adam.state[key].numpy(), moments[key].numpy(), rtol=1e-5)
