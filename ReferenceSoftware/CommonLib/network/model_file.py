"""Model files: safetensors weights + architecture config, identified by SHA-256.

A model file is a safetensors file (no pickled objects are ever loaded) whose
metadata holds ``format`` = ``hdac-hf-model``, ``format_version``, the
``network_config`` (JSON, see :mod:`CommonLib.generation.network_config`) and a
``model_name``. The model's identity is the SHA-256 of the whole file: the
GFV SEI names it (``gfv_uri``) and the decoder refuses a file whose hash
differs from the one the bitstream asks for.
"""
from __future__ import annotations

import json
import os

from Utilities.errors import ModelError
from Utilities.files import sha256_file, write_bytes
from CommonLib.generation.network_config import NetworkConfig
from CommonLib.network.hdac_hf import HdacHfModel

FORMAT = "hdac-hf-model"
FORMAT_VERSION = "1"


def save_model(model: HdacHfModel, path: str, model_name: str, extra: dict | None = None) -> str:
    """Write ``model`` (eval-mode tensors, BatchNorm statistics included); returns its SHA-256."""
    from safetensors.torch import save
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "model_name": model_name,
            "network_config": json.dumps(model.cfg.to_dict(), sort_keys=True)}
    for k, v in (extra or {}).items():
        meta[k] = v if isinstance(v, str) else json.dumps(v, sort_keys=True)
    tensors = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    write_bytes(path, save(tensors, metadata=meta), "model file")
    return sha256_file(path)


def read_metadata(path: str) -> dict:
    from safetensors import safe_open
    try:
        with safe_open(path, framework="pt") as f:
            return dict(f.metadata() or {})
    except Exception as e:  # safetensors raises several types for a damaged header
        raise ModelError(f"model file '{path}' is not a valid safetensors file ({e})") from None


def load_model(path: str, expected_sha256: str | None = None) -> tuple[HdacHfModel, dict]:
    """Load and verify a model file; returns (model in eval mode, metadata incl. 'sha256')."""
    if not os.path.isfile(path):
        raise ModelError(f"model file '{path}' does not exist")
    digest = sha256_file(path)
    if expected_sha256 is not None and digest != expected_sha256.lower():
        raise ModelError(f"model file '{path}' has SHA-256 {digest}, expected {expected_sha256.lower()} "
                         "(wrong or tampered model file)")
    meta = read_metadata(path)
    if meta.get("format") != FORMAT:
        raise ModelError(f"model file '{path}' is not an HDAC-HF model (format '{meta.get('format')}')")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelError(f"model file '{path}' has format version {meta.get('format_version')}, "
                         f"this software reads {FORMAT_VERSION}")
    try:
        cfg = NetworkConfig.from_dict(json.loads(meta["network_config"]))
    except (KeyError, ValueError, TypeError) as e:
        raise ModelError(f"model file '{path}': bad network_config ({e})") from None
    from safetensors.torch import load_file
    model = HdacHfModel(cfg)
    try:
        missing, unexpected = model.load_state_dict(load_file(path), strict=False)
    except RuntimeError as e:
        raise ModelError(f"model file '{path}' does not fit its network_config ({str(e).splitlines()[0]})") from None
    if missing or unexpected:
        raise ModelError(f"model file '{path}' does not fit its network_config "
                         f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
    meta["sha256"] = digest
    return model.eval(), meta


def rename_model(src: str, dst: str, model_name: str) -> str:
    """Copy a model file under another ``model_name`` (same tensors and metadata otherwise; ``renamed_from``
    records the source's name and SHA-256). Returns the new file's SHA-256."""
    from safetensors.torch import load_file, save
    _, meta = load_model(src)
    old = {"model_name": meta["model_name"], "sha256": meta.pop("sha256")}
    meta["model_name"] = model_name
    meta["renamed_from"] = json.dumps(old, sort_keys=True)
    write_bytes(dst, save(load_file(src), metadata=meta), "model file")
    return sha256_file(dst)
