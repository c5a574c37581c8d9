"""The state of a training run: small enough to commit, complete enough to continue anywhere.

One safetensors file (``state.safetensors`` in the run's folder; no pickled objects), written whole or
not at all (``Utilities.files``), holds:

* ``model.<name>`` (and ``disc.<name>`` with the GAN loss): the trained tensors in float32, BatchNorm statistics included; a frozen keypoint
  detector is not stored (it is the one of the ``InitModel``, named by SHA-256 in the recipe);
* ``adam.model.<name>.exp_avg`` / ``.exp_avg_sq``: the Adam moments in bfloat16 (half the bytes of float32;
  resuming continues with moments rounded to 8 significant bits), ``adam.model.<name>.step``;
* ``rng.torch``: the torch generator state;
* metadata: ``recipe`` (the options that define the run: resuming with another recipe is refused),
  ``step``, ``samples``, ``numpy_rng`` (the data position: every sample of a run is drawn from this
  generator, rank by rank), ``elapsed_s`` (training wall time so far).

The learning curve lives beside it in ``curve.json`` (validation gain over the base layer against
samples seen), the log in ``train.log``.
"""
from __future__ import annotations

import json
import os

import torch

from Utilities.errors import ConfigError
from Utilities.files import write_bytes

STATE_FILE = "state.safetensors"
FORMAT = "hdac-hf-training-state"
FORMAT_VERSION = "1"


def save_state(path: str, parts: list, meta: dict) -> None:
    """``parts``: (prefix, tensors by name, Adam optimiser, names: id(parameter) -> name) per trained network
    ('model' = the HDAC-HF network, 'disc' = the optional discriminator)."""
    from safetensors.torch import save
    tensors = {}
    for prefix, model_tensors, optimizer, names in parts:
        tensors.update({f"{prefix}.{k}": v.detach().float().contiguous().cpu() for k, v in model_tensors.items()})
        for group in optimizer.param_groups:
            for p in group["params"]:
                st = optimizer.state.get(p)
                if not st:
                    continue
                n = f"adam.{prefix}.{names[id(p)]}"
                tensors[f"{n}.exp_avg"] = st["exp_avg"].detach().to(torch.bfloat16).contiguous().cpu()
                tensors[f"{n}.exp_avg_sq"] = st["exp_avg_sq"].detach().to(torch.bfloat16).contiguous().cpu()
                tensors[f"{n}.step"] = torch.as_tensor(st["step"], dtype=torch.float32).reshape(1).cpu()
    tensors["rng.torch"] = torch.get_rng_state()
    md = {"format": FORMAT, "format_version": FORMAT_VERSION}
    md.update({k: json.dumps(v, sort_keys=True) for k, v in meta.items()})
    write_bytes(path, save(tensors, metadata=md), "training state")


def load_state(path: str) -> tuple[dict, dict]:
    """(tensors, metadata) of a state file; a missing or damaged file is a one-line error."""
    from safetensors import safe_open
    if not os.path.isfile(path):
        raise ConfigError(f"training state '{path}' does not exist (nothing to resume)")
    try:
        with safe_open(path, framework="pt") as f:
            md = dict(f.metadata() or {})
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # safetensors raises several types for a damaged file
        raise ConfigError(f"training state '{path}' is damaged ({str(e).splitlines()[0] if str(e) else type(e).__name__})") \
            from None
    if md.get("format") != FORMAT or md.get("format_version") != FORMAT_VERSION:
        raise ConfigError(f"training state '{path}' is not a training state of this software "
                          f"(format '{md.get('format')}' version '{md.get('format_version')}')")
    try:
        meta = {k: json.loads(v) for k, v in md.items() if k not in ("format", "format_version")}
    except ValueError as e:
        raise ConfigError(f"training state '{path}' is damaged (metadata: {e})") from None
    for key in ("recipe", "step", "numpy_rng"):
        if key not in meta:
            raise ConfigError(f"training state '{path}' is damaged (no '{key}')")
    return tensors, meta


def part_tensors(tensors: dict, prefix: str) -> dict:
    """The tensors stored under ``prefix.`` (without the prefix)."""
    n = len(prefix) + 1
    return {k[n:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}


def restore_optimizer(optimizer: torch.optim.Optimizer, tensors: dict, prefix: str, names: dict) -> None:
    for group in optimizer.param_groups:
        for p in group["params"]:
            n = f"adam.{prefix}.{names[id(p)]}"
            if f"{n}.exp_avg" not in tensors:
                continue
            optimizer.state[p] = {"step": tensors[f"{n}.step"].reshape(()).clone(),
                                  "exp_avg": tensors[f"{n}.exp_avg"].to(p.dtype).to(p.device).clone(),
                                  "exp_avg_sq": tensors[f"{n}.exp_avg_sq"].to(p.dtype).to(p.device).clone()}


def recipe_differences(stored: dict, current: dict, defaults: dict | None = None) -> list[str]:
    """The options whose values differ. A key the stored recipe lacks (an option added to the software after
    the run began) counts as its default, so that old runs resume as long as the new option keeps it."""
    defaults = defaults or {}
    keys = sorted(set(stored) | set(current))
    old = lambda k: stored[k] if k in stored else defaults.get(k)
    return [f"{k}: {old(k)!r} -> {current.get(k)!r}" for k in keys if old(k) != current.get(k)]
