"""Checkpoints: one safetensors file, tensors plus a JSON header; versioned, atomic, never unpickled.

A checkpoint holds everything `train()` needs to continue as if it never stopped: the weights,
the optimizer's moments, the counters, the episode window, the resolved config and the
environment's spaces. Loading parses a JSON header and raw arrays (safetensors): a file crafted to
run code when unpickled is just "not a checkpoint" here.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import safetensors.numpy
from safetensors import SafetensorError, safe_open

FORMAT = "a3c-checkpoint"
FORMAT_VERSION = 2  # 2: spaces as {"observation", "action"} specs (1: obs_shape, num_actions)


class CheckpointError(ValueError):
    """A file is missing, is not an a3c checkpoint, is corrupt, or does not fit this agent."""


@dataclass
class Checkpoint:
    """The arrays and the JSON-able state of one saved agent."""

    tensors: dict[str, np.ndarray]
    state: dict[str, Any]


def checkpoint_name(iteration: int) -> str:
    return f"checkpoint_{iteration:06d}.safetensors"


def write_checkpoint(path: str | Path, checkpoint: Checkpoint) -> Path:
    """Write atomically: a temporary file in the same folder, fsync, then rename over `path`.

    A crash at any point leaves either the previous file or the new one, never a torn file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {"format": FORMAT, "format_version": str(FORMAT_VERSION), "state": json.dumps(checkpoint.state)}
    payload = safetensors.numpy.save({k: np.ascontiguousarray(v) for k, v in checkpoint.tensors.items()}, metadata)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        _rename_into_place(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def _rename_into_place(tmp_name: str, path: Path) -> None:
    """The commit point of a save (a separate function so tests can interrupt right before it)."""
    os.replace(tmp_name, path)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


INDEX_NAME = "index.json"  # written by runlog.CheckpointKeeper next to the checkpoints it keeps
WHAT_TO_GIVE = (
    "give a checkpoint file (.safetensors), a run directory, its checkpoints/ directory or checkpoints/index.json"
)


def resolve_checkpoint(path: str | Path, best: bool = False) -> Path:
    """The checkpoint file that `path` names: a checkpoint file itself; or, from a run directory, its
    checkpoints/ directory or checkpoints/index.json, the newest checkpoint (`best`: the one with the
    highest episode_reward_mean in index.json). Anything else is a CheckpointError naming what it is.
    """
    path = Path(path)
    if path.is_dir():
        folder = path / "checkpoints" if (path / "checkpoints").is_dir() else path
    elif not path.is_file():
        return path  # read_checkpoint says it is not there
    elif path.name == INDEX_NAME:
        folder = path.parent
    elif path.suffix == ".json":
        raise CheckpointError(f"{path} is not an a3c checkpoint but a JSON file; {WHAT_TO_GIVE}")
    elif best:
        raise CheckpointError(f"the best checkpoint is picked from a run's {INDEX_NAME}, and {path} is one file")
    else:
        return path  # read_checkpoint says whether it is a checkpoint
    if best:
        return _best_checkpoint(folder)
    return latest_checkpoint(folder)


def _best_checkpoint(folder: Path) -> Path:
    index = folder / INDEX_NAME
    try:
        entries = json.loads(index.read_text())
        scored = [e for e in entries if e.get("episode_reward_mean") is not None]
    except FileNotFoundError:
        raise CheckpointError(f"no {INDEX_NAME} in {folder}: --best needs the index a3c train writes") from None
    except (OSError, ValueError, TypeError, AttributeError) as error:
        raise CheckpointError(f"{index} is not a checkpoint index ({error})") from None
    if not scored:
        raise CheckpointError(f"{index} lists no checkpoint with an episode_reward_mean")
    best = folder / max(scored, key=lambda e: e["episode_reward_mean"])["file"]
    if not best.is_file():
        raise CheckpointError(f"{index} names {best.name} as the best checkpoint, but it is missing")
    return best


def read_checkpoint(path: str | Path) -> Checkpoint:
    """Read and check a checkpoint (anything resolve_checkpoint takes, newest); raise CheckpointError
    saying what is wrong with it."""
    path = resolve_checkpoint(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        with safe_open(str(path), framework="numpy") as handle:
            metadata = handle.metadata() or {}
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    except (SafetensorError, OSError, ValueError) as error:
        if path.suffix == ".safetensors":
            raise CheckpointError(f"{path} is not an a3c checkpoint (a corrupt safetensors file: {error})") from None
        raise CheckpointError(f"{path} is not an a3c checkpoint (not a safetensors file); {WHAT_TO_GIVE}") from None
    if metadata.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an a3c checkpoint (no '{FORMAT}' header)")
    try:
        version = int(metadata["format_version"])
        state = json.loads(metadata["state"])
    except (KeyError, ValueError) as error:
        raise CheckpointError(f"{path} is a corrupt a3c checkpoint: {error}") from None
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format version {version}; this a3c reads up to {FORMAT_VERSION}: upgrade a3c"
        )
    return Checkpoint(tensors, state)


def latest_checkpoint(directory: str | Path) -> Path:
    """The newest checkpoint file in a folder (a run directory or its checkpoints/ folder)."""
    directory = Path(directory)
    folder = directory / "checkpoints" if (directory / "checkpoints").is_dir() else directory
    found = sorted(folder.glob("checkpoint_*.safetensors"))
    if not found:
        raise CheckpointError(f"no checkpoint in {folder}; {WHAT_TO_GIVE}")
    return found[-1]


def describe_mismatch(expected: dict[str, Any], found: dict[str, Any], what: str) -> list[str]:
    """Human-readable differences between two small nested dicts (spaces, model config), by dotted key."""
    expected, found = _dotted(expected), _dotted(found)
    return [
        f"{what} {key}: checkpoint has {found.get(key)!r}, this agent has {expected.get(key)!r}"
        for key in sorted(set(expected) | set(found))
        if expected.get(key) != found.get(key)
    ]


def _dotted(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict) and value:
            flat.update(_dotted(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat
