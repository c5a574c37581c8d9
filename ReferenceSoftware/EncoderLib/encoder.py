"""HDAC-HF encoder: one HEVC (or VVC) stream whose access units carry the GFV SEI.

Per picture: keypoints of the source picture; the picture coded by the
base-layer encoder (x265, HM or an external encoder: IRAP key picture or
low-delay P base-layer picture); the access unit's GFV SEI message
(base-picture message at IRAP pictures, driving message otherwise) in the
chosen GFV SEI syntax version; the reconstruction by the same process
DecoderApp runs (decoded base layer -> GFV SEI parsed back ->
CommonLib.generation.picture_reconstruction); the reconstruction's MD5 in a
user_data_unregistered SEI; all SEI messages of the picture in one suffix SEI
NAL unit after the access unit's NAL units (3-byte start code).

Keypoint transmission (``EncoderSettings.keypoint_transmission``,
doc/bitstream_syntax.md clause 3.4.6):

* ``always`` (the paper's): every picture carries the float detector's keypoints of its source picture;
* ``never``: the base-picture message says that keypoints are derived (gfv_uri_tag) and carries the integer
  detector's keypoints of the decoded key picture; fused pictures carry no GFV SEI message: the decoder
  derives their keypoints from their decoded base-layer picture;
* ``rd``: as ``never``, but a fused picture carries the integer detector's keypoints of its source picture
  when that lowers J = SSE(Y) + lambda x bits, lambda = 0.57 x 2^((SliceQpY - 12) / 3) (HM's lambda of the
  base QP); the encoder generates both pictures and keeps the better.

Animation-only pictures always carry keypoints (there is no base-layer picture to derive them from).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from CommonLib.syntax import nal_unit as nu
from CommonLib.syntax.access_unit_sei import (gfv_syntax_trace, parse_access_unit_sei, sei_header_trace,
                                       skipped_payload_trace)
from CommonLib.syntax.access_units import split_access_units
from CommonLib.syntax.bit_accounting import PictureBits, picture_bits
from CommonLib.generation.base_layer_decoder import BaseLayerDecoder
from CommonLib.syntax.bit_io import trace_line
from Utilities.colour import luma_bt709
from Utilities.errors import ConfigError, HdacError
from CommonLib.fixed_point.arith import rshift
from CommonLib.fixed_point.int_network import KP_BITS
from CommonLib.syntax.slice_qp import slice_qp_parser
from CommonLib.syntax.keypoint_coding import GfvState
from CommonLib.generation.model_registry import DERIVED_KEYPOINTS_URI_TAG, MODEL_URI_TAG, model_uri
from CommonLib.syntax.picture_hash_sei import md5_planes, write_generated_picture_md5
from CommonLib.generation.picture_log import PictureKind
from CommonLib.generation.picture_reconstruction import OutputPicture, PictureReconstructor
from CommonLib.syntax.sei_message import GENERATIVE_FACE_VIDEO, USER_DATA_UNREGISTERED, make_sei_nal_unit
from EncoderLib.encoder_model import EncoderModel
from EncoderLib.gfv_message_writer import propose_gfv_payload
from EncoderLib.keypoint_extractor import KeypointExtractor

#: payloadType used for the "unknown SEI" conformance feature (reserved in HEVC/VSEI).
UNKNOWN_TEST_PAYLOAD_TYPE = 222
KEYPOINT_TRANSMISSIONS = ("always", "never", "rd")


def rd_lambda(qp: int) -> float:
    """HM's Lagrange multiplier of a picture at QP (8-bit SSE of luma per bit)."""
    return 0.57 * 2.0 ** ((qp - 12) / 3.0)


def sse_y(a: np.ndarray, b: np.ndarray) -> float:
    d = luma_bt709(a) - luma_bt709(b)
    return float((d * d).sum())


@dataclass
class EncodedPicture:
    index: int
    is_key: bool
    fusion: bool
    bits: PictureBits            # base layer / GFV SEI / hash SEI bits of the access unit (CommonLib.syntax.bit_accounting)
    out: OutputPicture
    md5: list
    base: object = None          # the decoded base-layer picture (YuvPicture)
    slice_qp: int | None = None  # SliceQpY of the base-layer picture (None: its headers did not parse)

    @property
    def kind(self) -> PictureKind:
        return self.out.kind


@dataclass
class EncoderSettings:
    gfv_id: int = 0
    precision: int = 8
    kps_pred: bool = True
    generated_picture_hash: bool = True
    unknown_sei: bool = False
    no_fusion: set = field(default_factory=set)
    fusion: bool = True
    gfv_syntax: str = "vtm"          # GFV SEI syntax version: vtm | hm18 (CommonLib.syntax.gfv_sei)
    keypoint_transmission: str = "always"
    keypoint_lambda_scale: float = 1.0     # rd: lambda = scale x HM's lambda

    def __post_init__(self):
        """The ranges of the settings (EncoderApp's option names in the messages), checked wherever an encoder
        is configured (EncoderApp, EvalApp's coding points)."""
        if not 1 <= self.precision <= 32:
            raise ConfigError(f"KeypointPrecision {self.precision} is outside 1..32")
        if self.keypoint_lambda_scale < 0:
            raise ConfigError(f"KeypointLambdaScale {self.keypoint_lambda_scale} is negative")
        if self.gfv_id < 0:
            raise ConfigError("GfvId must not be negative")
        if self.keypoint_transmission not in KEYPOINT_TRANSMISSIONS:
            raise ConfigError(f"KeypointTransmission '{self.keypoint_transmission}' (choose "
                              f"{', '.join(KEYPOINT_TRANSMISSIONS)})")


class HdacHfEncoder:
    def __init__(self, settings: EncoderSettings, base_encoder, model: EncoderModel, codec: str = "hevc",
                 trace=None, log=None, float_inference: bool = False, float_model_file: str = ""):
        """``float_inference``: reconstruct with the float network (non-normative; no generated-picture MD5)."""
        self.s = settings
        self.bl_enc = base_encoder
        self.codec = codec
        self.trace = trace
        self.derived = settings.keypoint_transmission != "always"
        self.extractor = None if self.derived else KeypointExtractor(model.kp_detector, settings.precision)
        self.detector = None
        if self.derived:
            self.detector = model.file.network()
            if not self.detector.has_detector:
                raise ConfigError(f"KeypointTransmission {settings.keypoint_transmission} needs an integer model "
                                  f"with a keypoint detector; {model.path} has none (ConverterApp KeypointDetector 1)")
        self.enc_state = GfvState(settings.gfv_syntax)
        self.dec_state = GfvState(settings.gfv_syntax)
        self.bl_dec = BaseLayerDecoder(codec)
        self.qp_parser = slice_qp_parser(codec, trace)
        self.reconstructor = PictureReconstructor(model.path, log, float_inference, float_model_file, model.file)
        if float_inference:
            self.s.generated_picture_hash = False
        self.uri = model_uri(model.name, model.sha256)
        trace_line(trace, gfv_syntax_trace(settings.gfv_syntax))
        self.pending = []       # (index, keypoints or None, source R'G'B') waiting for their access unit
        self.count = 0

    def _fusion(self, index: int) -> bool:
        return self.s.fusion and index not in self.s.no_fusion

    def _detect(self, rgb: np.ndarray) -> np.ndarray:
        """The integer detector's keypoints of a picture with ``precision`` fractional bits (RShift)."""
        kp = self.detector.detect(rgb)
        return rshift(kp, KP_BITS - self.s.precision).numpy() if self.s.precision < KP_BITS else \
            (kp << (self.s.precision - KP_BITS)).numpy()

    def encode_picture(self, pic) -> list[tuple[bytes, EncodedPicture]]:
        """Encode one source picture; returns the finished (bytes, info) of zero or more pictures."""
        rgb = pic.to_rgb()
        self.pending.append((self.count, None if self.derived else self.extractor(rgb), rgb))
        self.count += 1
        return [self._finish(au) for au in self.bl_enc.encode(pic)]

    def flush(self):
        return [self._finish(au) for au in self.bl_enc.flush()]

    def _finish(self, au_bytes: bytes):
        index, kp, src = self.pending.pop(0)
        (au,) = split_access_units(au_bytes, self.codec)
        is_key = au.is_irap
        expected = self.bl_enc.is_key_picture(index)
        if expected is not None and is_key != expected:
            raise HdacError(f"picture {index}: the base-layer encoder made {'an IRAP' if is_key else 'a non-IRAP'} "
                            "picture against the IntraPeriod")
        # the base layer's headers and its encoder's own SEI (decoded picture hash) are traced exactly as the
        # decoder will trace them (doc/bitstream_syntax.md clause 6)
        qp = self.qp_parser.access_unit_or_error(au.nal_units, index)
        parse_access_unit_sei(au, index, None, self.trace)
        pictures = self.bl_dec.decode(au.annexb())
        if len(pictures) != 1:
            raise HdacError(f"picture {index}: the base-layer decoder returned {len(pictures)} pictures for one "
                            "access unit (the low-delay structure must have no reordering)")
        decoded = pictures[0]
        fusion = (not is_key) and self._fusion(index)
        tr = (lambda: [] if self.trace is not None else None)
        gfv_trace = tr()
        if is_key:
            kwargs = dict(base_picture=True, uri=self.uri,
                          uri_tag=DERIVED_KEYPOINTS_URI_TAG if self.derived else MODEL_URI_TAG)
            if self.derived:
                kp = self._detect(decoded.to_rgb())
        else:
            kwargs = dict(base_picture=False, fusion_flag=int(fusion))
        out, proposal = None, None
        if self.derived and fusion:
            derived = self.reconstructor.picture(index, None, decoded, is_key, qp)
            if self.s.keypoint_transmission == "rd":
                proposal = propose_gfv_payload(self.enc_state, self.s.gfv_id, self._detect(src), self.s.precision,
                                               trace=gfv_trace, kps_pred=self.s.kps_pred, **kwargs)
                sent = self.reconstructor.generated_picture(index, proposal.keypoints, self.s.precision, decoded,
                                                            True, qp)
                # the bits of its SEI NAL unit: 3-byte start code, NAL header, payload type / size, trailing bits
                bits = 8 * (3 + len(make_sei_nal_unit(self.codec, [(GENERATIVE_FACE_VIDEO, proposal.payload)])))
                lam = self.s.keypoint_lambda_scale * rd_lambda(qp if isinstance(qp, int) else 51)
                if sse_y(sent.rgb, src) + lam * bits < sse_y(derived.rgb, src):
                    out = sent
                else:
                    proposal, out = None, derived
            else:
                out = derived
        else:
            if self.derived and not is_key:          # animation-only: the keypoints of the source picture
                kp = self._detect(src)
            proposal = propose_gfv_payload(self.enc_state, self.s.gfv_id, kp, self.s.precision, trace=gfv_trace,
                                           kps_pred=self.s.kps_pred, **kwargs)
        messages = []
        if proposal is not None:
            proposal.commit(self.enc_state)
            gfv = self.dec_state.decode_payload(proposal.payload)
            if out is None:
                out = self.reconstructor.picture(index, gfv, decoded, is_key, qp)
            messages.append((GENERATIVE_FACE_VIDEO, proposal.payload, gfv_trace))
        md5 = md5_planes(list(out.rgb))
        if self.s.generated_picture_hash:
            md5_trace = tr()
            messages.append((USER_DATA_UNREGISTERED, write_generated_picture_md5(md5, md5_trace), md5_trace))
        if self.s.unknown_sei:
            messages.append((UNKNOWN_TEST_PAYLOAD_TYPE, bytes([0x48, 0x44, 0x41, 0x43, index & 0xFF]),
                             [skipped_payload_trace(UNKNOWN_TEST_PAYLOAD_TYPE)]))
        if self.trace is not None:
            for pt, payload, lines in messages:
                sei_header_trace(self.trace, index, pt, len(payload))
                for line in lines:
                    trace_line(self.trace, line)
        sei_nal = b""
        if messages:
            # a suffix SEI NAL unit is never the first of its access unit: 3-byte start code (Annex B)
            # with the TemporalId of the picture it belongs to (H.265 7.4.2.2, H.266 7.4.2.2)
            vcl = next(n for n, t in zip(au.nal_units, au.types) if nu.is_vcl(t, self.codec))
            tid1 = nu.parse_nal_header(vcl, self.codec).temporal_id_plus1
            sei_nal = nu.annexb(make_sei_nal_unit(self.codec, [(pt, p) for pt, p, _ in messages], suffix=True,
                                                  temporal_id_plus1=tid1), zero_byte=False)
        data = au_bytes + sei_nal
        (final,) = split_access_units(data, self.codec)
        return data, EncodedPicture(index, is_key, fusion, picture_bits(final), out, md5, decoded,
                                    qp if isinstance(qp, int) else None)
