"""The integer model file (doc/integer_model_format.md).

    offset 0   magic      8 bytes  "HDACHFIM"
    offset 8   version    u32 little-endian (1)
    offset 12  L          u32 little-endian: length of the header
    offset 16  header     L bytes, UTF-8 JSON (below)
    then       padding    zero bytes up to a multiple of 8
    then       data       the tensors, little-endian, two's complement, each at a
                          multiple of 8 from the start of the data

Header keys: ``format`` ("hdac-hf-integer-model"), ``model_name``,
``network_config`` (as the float model file), ``source_model_sha256`` (the
float model it was converted from), ``tensors`` (name -> dtype i8/i16/i32/i64/f32,
shape, offset, nbytes), ``layers`` (name -> kind conv/affine/quantiser, q_in,
q_out, padding, groups), ``constants`` (names of constant tensors),
``conversion`` (how it was made) and, optionally, ``residual_scale`` (52
integers, the ResidualScale table of the decoding process, CommonLib.generation.residual_scaling)
with ``residual_scale_fit`` (how it was fitted). The file's identity is its SHA-256, which
the GFV SEI's gfv_uri names.

Tensors named ``kp_detector.*`` are the float32 weights of the keypoint
detector (encoder side, not part of the decoding process).
"""
from __future__ import annotations

import json
import os
import struct

import numpy as np
import torch

from Utilities.errors import ModelError
from Utilities.files import sha256_bytes, write_bytes
from CommonLib.fixed_point.int_layers import IntAffine, IntConv, IntQuantiser
from CommonLib.generation.network_config import NetworkConfig
from CommonLib.generation.residual_scaling import check_table

MAGIC = b"HDACHFIM"
VERSION = 1
FORMAT = "hdac-hf-integer-model"
EXTENSION = ".hfim"
_DTYPES = {"i8": np.dtype("<i1"), "i16": np.dtype("<i2"), "i32": np.dtype("<i4"), "i64": np.dtype("<i8"),
           "f32": np.dtype("<f4")}


def is_integer_model_file(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(8) == MAGIC
    except OSError:
        return False


def _smallest_int_dtype(a: np.ndarray) -> str:
    lo, hi = (int(a.min()), int(a.max())) if a.size else (0, 0)
    for name, bits in (("i8", 8), ("i16", 16), ("i32", 32)):
        if -(1 << (bits - 1)) <= lo and hi < (1 << (bits - 1)):
            return name
    return "i64"


def _write_file(path: str, header: dict, blobs: list) -> str:
    """Magic, version, header, padding, data, as one whole-or-nothing output file. Returns the SHA-256."""
    hb = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    data = b"".join([MAGIC + struct.pack("<II", VERSION, len(hb)) + hb + b"\0" * ((-(16 + len(hb))) % 8)] + blobs)
    write_bytes(path, data, "integer model file")
    return sha256_bytes(data)


def write_integer_model(path: str, model_name: str, config: NetworkConfig, layers: dict, constants: dict,
                        kp_detector_state: dict, source_sha256: str, conversion: dict) -> str:
    """Write the file (``.part`` then rename); returns its SHA-256."""
    tensors, blobs, offset = {}, [], 0

    def add(name, arr, dtype=None):
        nonlocal offset
        arr = np.ascontiguousarray(arr)
        dtype = dtype or _smallest_int_dtype(arr)
        raw = arr.astype(_DTYPES[dtype]).tobytes()
        tensors[name] = {"dtype": dtype, "shape": list(arr.shape), "offset": offset, "nbytes": len(raw)}
        pad = (-len(raw)) % 8
        blobs.append(raw + b"\0" * pad)
        offset += len(raw) + pad

    layer_hdr = {}
    for name, l in layers.items():
        if isinstance(l, IntConv):
            layer_hdr[name] = {"kind": "conv", "q_in": l.q_in, "q_out": l.q_out, "padding": l.padding,
                               "groups": l.groups}
            add(f"{name}.weight", l.weight.numpy())
            add(f"{name}.bias", l.bias.numpy(), "i64")
            add(f"{name}.shift", l.shift.numpy(), "i32")
        elif isinstance(l, IntAffine):
            layer_hdr[name] = {"kind": "affine", "q_in": l.q_in, "q_out": l.q_out}
            add(f"{name}.scale", l.scale.numpy())
            add(f"{name}.bias", l.bias.numpy(), "i64")
            add(f"{name}.shift", l.shift.numpy(), "i32")
        else:
            layer_hdr[name] = {"kind": "quantiser", "q_out": l.q_out}
    for name, t in constants.items():
        add(f"const.{name}", t.numpy())
    for name, t in kp_detector_state.items():
        add(f"kp_detector.{name}", t.detach().float().numpy(), "f32")
    header = {"format": FORMAT, "model_name": model_name, "network_config": config.to_dict(),
              "source_model_sha256": source_sha256, "tensors": tensors, "layers": layer_hdr,
              "constants": sorted(constants), "conversion": conversion}
    return _write_file(path, header, blobs)


def rewrite_integer_model(src: "IntegerModelFile", path: str, model_name: str, residual_scale: list[int] | None,
                          residual_scale_fit: dict | None) -> str:
    """Write a copy of ``src`` (same tensors) with another name and ResidualScale table; returns its SHA-256."""
    header = {k: v for k, v in src.header.items() if k not in ("residual_scale", "residual_scale_fit")}
    header["model_name"] = model_name
    if residual_scale is not None:
        header["residual_scale"] = check_table(residual_scale, path)
        header["residual_scale_fit"] = residual_scale_fit or {}
    return _write_file(path, header, [src.data])


class IntegerModelFile:
    """A parsed integer model file: header, integer layers, constants, keypoint-detector weights."""

    def __init__(self, path: str, expected_sha256: str | None = None):
        if not os.path.isfile(path):
            raise ModelError(f"integer model file '{path}' does not exist")
        with open(path, "rb") as f:
            raw = f.read()
        self.path = path
        self.sha256 = sha256_bytes(raw)
        if expected_sha256 and self.sha256 != expected_sha256:
            raise ModelError(f"integer model file '{path}' has sha256 {self.sha256}, expected {expected_sha256}")
        if len(raw) < 16 or raw[:8] != MAGIC:
            raise ModelError(f"'{path}' is not an HDAC-HF integer model file (bad magic)")
        version, hlen = struct.unpack("<II", raw[8:16])
        if version != VERSION:
            raise ModelError(f"integer model file '{path}': version {version} is not supported (only {VERSION})")
        if 16 + hlen > len(raw):
            raise ModelError(f"integer model file '{path}' is truncated (header)")
        try:
            self.header = json.loads(raw[16:16 + hlen].decode("utf-8"))
            if self.header.get("format") != FORMAT:
                raise ValueError("format")
            self.config = NetworkConfig.from_dict(self.header["network_config"])
            data0 = 16 + hlen + ((-(16 + hlen)) % 8)
            self.data = raw[data0:]
            self.arrays = {}
            for name, t in self.header["tensors"].items():
                dt = _DTYPES[t["dtype"]]
                start, n = data0 + int(t["offset"]), int(t["nbytes"])
                if start + n > len(raw) or n != dt.itemsize * int(np.prod(t["shape"], dtype=np.int64)):
                    raise ModelError(f"integer model file '{path}' is truncated or damaged (tensor {name})")
                self.arrays[name] = np.frombuffer(raw, dt, n // dt.itemsize, start).reshape(t["shape"])
            self.layers = self._layers()
            self._constants = {n: self._t(f"const.{n}") for n in self.header["constants"]}
        except ModelError:
            raise
        except Exception as e:
            raise ModelError(f"integer model file '{path}' has a damaged header ({type(e).__name__}: {e})") from None
        self.model_name = self.header["model_name"]
        table = self.header.get("residual_scale")
        self.residual_scale = None if table is None else check_table(table, f"integer model file '{path}'")
        self.source_model_sha256 = self.header.get("source_model_sha256", "")

    def _t(self, name) -> torch.Tensor:
        return torch.from_numpy(self.arrays[name].astype(np.int64))

    def _layers(self) -> dict:
        out = {}
        abits = int(self.arrays["const.activation_bits"][0]) if "const.activation_bits" in self.arrays else 16
        if not 8 <= abits <= 16:
            raise ValueError(f"activation_bits {abits} outside 8..16")
        for name, l in self.header["layers"].items():
            if l["kind"] == "conv":
                out[name] = IntConv(self._t(f"{name}.weight"), self._t(f"{name}.bias"), self._t(f"{name}.shift"),
                                    int(l["q_in"]), int(l["q_out"]), int(l["padding"]), int(l["groups"]), abits)
            elif l["kind"] == "affine":
                out[name] = IntAffine(self._t(f"{name}.scale"), self._t(f"{name}.bias"), self._t(f"{name}.shift"),
                                      int(l["q_in"]), int(l["q_out"]), abits)
            elif l["kind"] == "quantiser":
                out[name] = IntQuantiser(int(l["q_out"]))
            else:
                raise ValueError(f"unknown layer kind {l['kind']}")
        return out

    def constants(self) -> dict:
        return dict(self._constants)

    def network(self):
        """The integer network; a file whose layers or constants do not fit its network configuration (a name
        the network needs is missing) is refused with a ModelError."""
        from CommonLib.fixed_point.int_network import IntegerHdacHf
        try:
            return IntegerHdacHf(self.config, self.layers, self.constants())
        except KeyError as e:
            raise ModelError(f"integer model file '{self.path}' lacks {e} that its network configuration "
                             "needs") from None

    def keypoint_detector_state(self) -> dict:
        """The float32 keypoint-detector tensors (encoder side, not part of the decoding process)."""
        return {n[len("kp_detector."):]: torch.from_numpy(a.copy()) for n, a in self.arrays.items()
                if n.startswith("kp_detector.")}
