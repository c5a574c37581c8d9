"""The per-picture reconstruction process, shared by the decoder and the encoder (doc/decoding_process.md).

For each access unit, given its decoded GFV SEI message and its decoded
base-layer picture:

* base picture (gfv_base_picture_flag = 1, IRAP picture): the integer model
  named by gfv_uri is loaded (SHA-256 verified) and drives the normative
  integer generation process; the output picture is the decoded picture
  itself, and it becomes the key picture of the following pictures;
* other pictures: the generated picture from key picture + keypoints, with
  the decoded picture as base layer when FusionFlag = 1 (else animation-only);
  with fusion, the residual scaling of the model's ResidualScale table at the
  base-layer picture's SliceQpY (CommonLib.generation.residual_scaling, clause 4.1) gives the output;
* an access unit without a GFV SEI message, after a base picture whose gfv_uri_tag says the keypoints are
  derived (doc/bitstream_syntax.md clause 3.4.6): a fused picture whose keypoints are the model's integer
  keypoint detector's output on the decoded picture (16 fractional bits).

The output picture is always R'G'B' 8 bit (the decoded key picture is
converted with the integer process of Utilities.colour); the MD5 SEI hashes
its R, G, B planes.

``float_inference`` swaps in the float network the integer model was
converted from (non-normative, never hashed): only then is the float network
(CommonLib.network, CommonLib.generation.float_picture_generator) imported.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from Utilities.errors import BitstreamError, ModelError
from CommonLib.fixed_point.int_model_file import IntegerModelFile, is_integer_model_file
from CommonLib.generation.integer_picture_generator import IntegerPictureGenerator
from CommonLib.syntax.keypoint_coding import DecodedGfvPicture
from CommonLib.generation.model_registry import find_model, parse_model_uri
from CommonLib.generation.picture_log import PictureKind
from CommonLib.generation.residual_scaling import apply_residual_scale, scale_for_qp
from Utilities.video_io import YuvPicture


@dataclass
class OutputPicture:
    index: int
    rgb: np.ndarray                  # (3, H, W) uint8, hashed
    yuv: YuvPicture | None           # the decoded picture itself for key pictures
    is_key: bool
    fusion: bool
    generated: np.ndarray | None = None      # the network's picture before residual scaling
    residual_scale: int | None = None        # ResidualScale[qp] applied (None: no table, or not fused)
    derived: bool = False                    # keypoints derived by the decoder (no GFV SEI message)

    @property
    def kind(self) -> PictureKind:
        if self.is_key:
            return PictureKind.KEY
        if self.derived:
            return PictureKind.DERIVED
        return PictureKind.FUSED if self.fusion else PictureKind.ANIMATION


def _float_generator(path: str, sha256: str):
    from CommonLib.generation.float_picture_generator import FloatPictureGenerator
    from CommonLib.network.model_file import load_model
    model, meta = load_model(path, sha256)
    return FloatPictureGenerator(model), meta


class PictureReconstructor:
    """``normative``: the pictures come from the integer process (False with ``float_inference``); the
    decoder's MD5 verdict depends on it."""

    def __init__(self, model_file: str = "", log=None, float_inference: bool = False, float_model_file: str = "",
                 opened=None):
        """``opened``: an IntegerModelFile already read (the encoder's model), used when the stream names its
        SHA-256 instead of finding and reading the file again."""
        self.model_file = model_file
        self._opened = opened
        self.float_inference = float_inference
        self.float_model_file = float_model_file
        self.log = log
        self._models = {}
        self.generator = None
        self.residual_scale = None
        self.model_sha256 = None
        self.model_name = None
        self.normative = not float_inference
        self.derived_keypoints = False       # the current base picture's gfv_uri_tag derives keypoints

    def _load(self, gfv: DecodedGfvPicture) -> None:
        m = gfv.sei
        if not (m.gfv_nn_present_flag and m.gfv_nn_mode_idc == 1):
            if self.generator is None:
                raise BitstreamError("the first base picture's GFV SEI names no model (gfv_nn_present_flag = 0)")
            return
        name, sha, derived = parse_model_uri(m.gfv_uri_tag, m.gfv_uri)
        if sha not in self._models:
            opened = self._opened if self._opened is not None and self._opened.sha256 == sha else None
            path = opened.path if opened is not None else find_model(sha, self.model_file)
            if not is_integer_model_file(path):
                if not self.float_inference:
                    raise ModelError(f"the bitstream names model sha256 {sha} ({path}), a float model file; the "
                                     "normative process needs an integer model (decode with --FloatInference 1 "
                                     "for the non-normative float network)")
                gen, meta = _float_generator(path, sha)
                self._models[sha] = (gen, None)
                desc = f"float model {meta.get('model_name', name)}"
            else:
                imf = opened if opened is not None else IntegerModelFile(path, sha)
                if self.float_inference:
                    fpath = find_model(imf.source_model_sha256, self.float_model_file)
                    gen, _ = _float_generator(fpath, imf.source_model_sha256)
                    self._models[sha] = (gen, imf.residual_scale)
                    desc = f"float network {fpath} (non-normative) of integer model {imf.model_name}"
                else:
                    self._models[sha] = (IntegerPictureGenerator(imf.network()), imf.residual_scale)
                    desc = f"integer model {imf.model_name}"
            if self.log:
                self.log(f"{desc} sha256 {sha} ({path})")
        self.generator, self.residual_scale = self._models[sha]
        self.normative = self.generator.normative
        self.model_sha256, self.model_name = sha, name
        if derived and not self.generator.has_detector:
            raise ModelError(f"the bitstream derives keypoints at the decoder (gfv_uri_tag '{m.gfv_uri_tag}'), but "
                             f"model {name} sha256 {sha} has no integer keypoint detector")
        self.derived_keypoints = derived

    def picture(self, index: int, gfv: DecodedGfvPicture | None, decoded: YuvPicture, irap: bool,
                slice_qp: int | BitstreamError | None = None) -> OutputPicture:
        """``gfv`` None: the access unit carries no GFV SEI message. ``slice_qp``: SliceQpY of the base-layer
        picture (needed with fusion when the model has a ResidualScale table; None where the base-layer
        codec's slice header is not parsed, the error where its parameter sets or slice header could not be
        parsed)."""
        if gfv is None:
            return self._derived_picture(index, decoded, irap, slice_qp)
        if gfv.keypoints is None:
            raise BitstreamError(f"picture {index}: GFV SEI carries no keypoints")
        if gfv.base_picture:
            if not irap:
                raise BitstreamError(f"picture {index}: GFV base picture is not an IRAP picture")
            self._load(gfv)
            key_rgb = decoded.to_rgb()
            self.generator.set_key(key_rgb, gfv.keypoints, gfv.precision)
            return OutputPicture(index, key_rgb, decoded, True, False)
        if self.generator is None or self.generator.key is None:
            raise BitstreamError(f"picture {index}: no key picture before this GFV message")
        if gfv.keypoints.shape[1] != 2 or gfv.keypoints.shape[0] != self.generator.num_kp:
            raise BitstreamError(f"picture {index}: {gfv.keypoints.shape[0]} keypoints, the model needs "
                                 f"{self.generator.num_kp} (x, y) keypoints")
        return self.generated_picture(index, gfv.keypoints, gfv.precision, decoded, bool(gfv.fusion_flag), slice_qp)

    def _derived_picture(self, index, decoded, irap, slice_qp) -> OutputPicture:
        if irap:
            raise BitstreamError("IRAP picture without a GFV SEI base-picture message (no Generative Face Video "
                                 "SEI message: truncated or not an HDAC-HF stream?)")
        if self.generator is None or not self.derived_keypoints:
            raise BitstreamError("no Generative Face Video SEI message (truncated or not an HDAC-HF stream?), "
                                 "and the stream does not derive keypoints at the decoder")
        rgb = decoded.to_rgb()
        return self.generated_picture(index, self.generator.detect(rgb), 16, decoded, True, slice_qp, rgb,
                                      derived=True)

    def generated_picture(self, index: int, keypoints: np.ndarray, precision: int, decoded: YuvPicture,
                          fusion: bool, slice_qp, decoded_rgb: np.ndarray | None = None,
                          derived: bool = False) -> OutputPicture:
        """A generated picture from the current key picture and ``keypoints`` (P = ``precision``)."""
        if self.generator is None or self.generator.key is None:
            raise BitstreamError(f"picture {index}: no key picture before this picture")
        base_rgb = (decoded.to_rgb() if decoded_rgb is None else decoded_rgb) if fusion else None
        generated = self.generator.generate(keypoints, precision, base_rgb)
        scale, rgb = None, generated
        if fusion and self.residual_scale is not None:
            if slice_qp is None:
                raise BitstreamError(f"picture {index}: model {self.model_name} scales its residual by the base-layer "
                                     "QP, which is not known for this base-layer codec")
            if isinstance(slice_qp, BitstreamError):
                raise BitstreamError(f"picture {index}: the base-layer QP for the residual scaling: {slice_qp}")
            scale = scale_for_qp(self.residual_scale, slice_qp)
            rgb = apply_residual_scale(generated, base_rgb, scale)
        return OutputPicture(index, rgb, None, False, fusion, generated, scale, derived)
