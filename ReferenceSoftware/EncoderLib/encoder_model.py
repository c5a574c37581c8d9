"""The model an encoder works with: an integer model file (the one gfv_uri names).

The integer model file carries the normative decoder-side network and the
float keypoint detector's weights (encoder side, non-normative), so one file
is all the encoder needs; the float detector is built here, in the encoder
library, never by the decoder.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from torch import nn

from Utilities.errors import ConfigError, ModelError
from CommonLib.fixed_point.int_model_file import IntegerModelFile, is_integer_model_file
from CommonLib.network.keypoint_detector import KeypointDetector


@dataclass
class EncoderModel:
    kp_detector: nn.Module
    path: str
    sha256: str
    name: str
    source_model_sha256: str
    file: IntegerModelFile          # the model file, read once: the encoder's detector and reconstruction use it


def keypoint_detector(imf: IntegerModelFile) -> KeypointDetector:
    """The float keypoint detector stored in an integer model file (eval mode)."""
    det = KeypointDetector(imf.config.kp)
    try:
        det.load_state_dict(imf.keypoint_detector_state())
    except RuntimeError as e:
        raise ModelError(f"integer model file '{imf.path}': keypoint detector weights do not fit ({e})") from None
    return det.eval()


def open_encoder_model(path: str) -> EncoderModel:
    if not is_integer_model_file(path):
        if not os.path.isfile(path):
            raise ConfigError(f"model file '{path}' does not exist")
        raise ConfigError(f"model file '{path}' is not an integer model (.hfim); bitstreams name integer models "
                          "(convert a float model with python -m ConverterApp)")
    imf = IntegerModelFile(path)
    return EncoderModel(keypoint_detector(imf), path, imf.sha256, imf.model_name, imf.source_model_sha256, imf)
