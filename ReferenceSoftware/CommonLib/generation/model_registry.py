"""Shipped models and how bitstreams name them.

The GFV base-picture message names the model with

    gfv_uri_tag = "tag:hdac-hf-reference-software,2026:model"
    gfv_uri     = "urn:hdac-hf:model:<model_name>:sha256:<64 lower-case hex digits>"

A decoder looks the SHA-256 up among the shipped models (``resources/models``)
or uses the model file given by the user, and refuses a file whose SHA-256
differs from the one the bitstream names.
"""
from __future__ import annotations

import glob
import os
import re

from Utilities.app_config import RESOURCE_DIR
from Utilities.errors import BitstreamError, ModelError
from Utilities.files import sha256_file

#: The shipped default models (doc/model_card.md): EncoderApp's ModelFile, EvalApp's HdacHfModel / HdacPlusModel.
DEFAULT_HDAC_HF_MODEL = "resource:models/hdac_hf_small_v2_kpd.hfim"
DEFAULT_HDAC_PLUS_MODEL = "resource:models/hdac_plus_small_v2.hfim"

MODEL_URI_TAG = "tag:hdac-hf-reference-software,2026:model"
#: The same model, and: an access unit of this gfv_id without a GFV SEI message is a fused picture whose
#: keypoints the decoder derives with the model's integer keypoint detector (doc/bitstream_syntax.md 3.4.6).
DERIVED_KEYPOINTS_URI_TAG = "tag:hdac-hf-reference-software,2026:model-derived-keypoints"
URI_TAGS = (MODEL_URI_TAG, DERIVED_KEYPOINTS_URI_TAG)
MODEL_DIR = os.path.join(RESOURCE_DIR, "models")
_URI = re.compile(r"^urn:hdac-hf:model:([A-Za-z0-9_.-]+):sha256:([0-9a-f]{64})$")


def model_uri(model_name: str, sha256: str) -> str:
    return f"urn:hdac-hf:model:{model_name}:sha256:{sha256}"


def parse_model_uri(tag: str, uri: str) -> tuple[str, str, bool]:
    """(model_name, sha256, derived keypoints) from the GFV SEI's gfv_uri_tag / gfv_uri."""
    if tag not in URI_TAGS:
        raise BitstreamError(f"GFV SEI: unknown gfv_uri_tag '{tag}' (expected '{MODEL_URI_TAG}' or "
                             f"'{DERIVED_KEYPOINTS_URI_TAG}')")
    m = _URI.match(uri)
    if not m:
        raise BitstreamError(f"GFV SEI: gfv_uri '{uri}' does not name a model and its SHA-256")
    return m.group(1), m.group(2), tag == DERIVED_KEYPOINTS_URI_TAG


def shipped_models() -> dict[str, str]:
    """sha256 -> path of every model file shipped in resources/models (integer .hfim and float .safetensors)."""
    files = sorted(glob.glob(os.path.join(MODEL_DIR, "*.hfim")) + glob.glob(os.path.join(MODEL_DIR, "*.safetensors")))
    return {sha256_file(p): p for p in files}


def find_model(sha256: str, user_file: str = "") -> str:
    """Path of the model file with this SHA-256 (the user's file must match it)."""
    if user_file:
        if not os.path.isfile(user_file):
            raise ModelError(f"model file '{user_file}' does not exist")
        got = sha256_file(user_file)
        if got != sha256:
            raise ModelError(f"the bitstream requires model sha256 {sha256}, but '{user_file}' has {got}")
        return user_file
    found = shipped_models().get(sha256)
    if not found:
        raise ModelError(f"the bitstream requires model sha256 {sha256}, which is not shipped; "
                         "give it with --ModelFile")
    return found
