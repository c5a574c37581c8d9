"""The model an encoder works with: an integer model file (the one gfv_uri names).

The integer model file carries the normative decoder-side network and the
float keypoint detector (encoder side), so one file is all the encoder needs.
"""
from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from CommonLib.errors import ConfigError
from CommonLib.fixed_point.int_model_file import IntegerModelFile, is_integer_model_file


@dataclass
class EncoderModel:
    kp_detector: nn.Module
    path: str
    sha256: str
    name: str
    source_model_sha256: str


def open_encoder_model(path: str) -> EncoderModel:
    if not is_integer_model_file(path):
        import os
        if not os.path.isfile(path):
            raise ConfigError(f"model file '{path}' does not exist")
        raise ConfigError(f"model file '{path}' is not an integer model (.hfim); bitstreams name integer models "
                          "(convert a float model with python -m ConverterApp)")
    imf = IntegerModelFile(path)
    return EncoderModel(imf.keypoint_detector(), path, imf.sha256, imf.model_name, imf.source_model_sha256)
