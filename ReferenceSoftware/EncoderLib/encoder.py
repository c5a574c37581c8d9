"""HDAC-HF encoder: one HEVC (or VVC) stream whose access units carry the GFV SEI.

Per picture: keypoints of the source picture (detector + integer
quantisation); the picture coded by the base-layer encoder (x265, HM or an
external encoder: IRAP key picture or low-delay P base-layer picture); the
access unit's GFV SEI message (base-picture message at IRAP pictures,
driving message otherwise) in the chosen GFV SEI syntax version; the
reconstruction by the same process DecoderApp runs (decoded base layer ->
GFV SEI parsed back -> CommonLib.picture_reconstruction); the reconstruction's
MD5 in a user_data_unregistered SEI; all SEI messages of the picture in one
suffix SEI NAL unit after the access unit's NAL units.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from CommonLib import nal_unit as nu
from CommonLib.access_unit_sei import (gfv_syntax_trace, parse_access_unit_sei, sei_header_trace,
                                       skipped_payload_trace)
from CommonLib.access_units import split_access_units
from CommonLib.base_layer_decoder import BaseLayerDecoder
from CommonLib.bit_io import trace_line
from CommonLib.errors import HdacError
from CommonLib.hevc_slice_qp import SliceQpParser
from CommonLib.keypoint_coding import GfvState
from CommonLib.model_registry import MODEL_URI_TAG, model_uri
from CommonLib.picture_hash_sei import md5_planes, write_generated_picture_md5
from CommonLib.picture_log import PictureKind
from CommonLib.picture_reconstruction import OutputPicture, PictureReconstructor
from CommonLib.sei_message import GENERATIVE_FACE_VIDEO, USER_DATA_UNREGISTERED, make_sei_nal_unit
from EncoderLib.encoder_model import EncoderModel
from EncoderLib.gfv_message_writer import encode_gfv_payload
from EncoderLib.keypoint_extractor import KeypointExtractor

#: payloadType used for the "unknown SEI" conformance feature (reserved in HEVC/VSEI).
UNKNOWN_TEST_PAYLOAD_TYPE = 222


@dataclass
class EncodedPicture:
    index: int
    is_key: bool
    fusion: bool
    base_bits: int
    sei_bits: int
    out: OutputPicture
    md5: list
    base: object = None          # the decoded base-layer picture (YuvPicture)

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
    gfv_syntax: str = "vtm"          # GFV SEI syntax version: vtm | hm18 (CommonLib.gfv_sei)


class HdacHfEncoder:
    def __init__(self, settings: EncoderSettings, base_encoder, model: EncoderModel, codec: str = "hevc",
                 trace=None, log=None, float_inference: bool = False, float_model_file: str = ""):
        """``float_inference``: reconstruct with the float network (non-normative; no generated-picture MD5)."""
        self.s = settings
        self.bl_enc = base_encoder
        self.codec = codec
        self.trace = trace
        self.extractor = KeypointExtractor(model.kp_detector, settings.precision)
        self.enc_state = GfvState(settings.gfv_syntax)
        self.dec_state = GfvState(settings.gfv_syntax)
        self.bl_dec = BaseLayerDecoder(codec)
        self.qp_parser = SliceQpParser(trace) if codec == nu.HEVC else None
        self.reconstructor = PictureReconstructor(model.path, log, float_inference, float_model_file)
        if float_inference:
            self.s.generated_picture_hash = False
        self.uri = model_uri(model.name, model.sha256)
        trace_line(trace, gfv_syntax_trace(settings.gfv_syntax))
        self.pending = []       # (index, keypoints) waiting for their access unit
        self.count = 0

    def _fusion(self, index: int) -> bool:
        return self.s.fusion and index not in self.s.no_fusion

    def encode_picture(self, pic) -> list[tuple[bytes, EncodedPicture]]:
        """Encode one source picture; returns the finished (bytes, info) of zero or more pictures."""
        kp = self.extractor(pic.to_rgb())
        self.pending.append((self.count, kp))
        self.count += 1
        return [self._finish(au) for au in self.bl_enc.encode(pic)]

    def flush(self):
        return [self._finish(au) for au in self.bl_enc.flush()]

    def _finish(self, au_bytes: bytes):
        index, kp = self.pending.pop(0)
        (au,) = split_access_units(au_bytes, self.codec)
        is_key = au.is_irap
        expected = self.bl_enc.is_key_picture(index)
        if expected is not None and is_key != expected:
            raise HdacError(f"picture {index}: the base-layer encoder made {'an IRAP' if is_key else 'a non-IRAP'} "
                            "picture against the IntraPeriod")
        # the base layer's headers and its encoder's own SEI (decoded picture hash) are traced exactly as the
        # decoder will trace them (doc/bitstream_syntax.md clause 6)
        qp = self.qp_parser.access_unit_or_error(au.nal_units, index) if self.qp_parser else None
        parse_access_unit_sei(au.nal_units, au.types, self.codec, index, None, self.trace)
        fusion = (not is_key) and self._fusion(index)
        kwargs = dict(base_picture=True, uri_tag=MODEL_URI_TAG, uri=self.uri) if is_key else \
            dict(base_picture=False, fusion_flag=int(fusion))
        tr = (lambda: [] if self.trace is not None else None)
        gfv_trace = tr()
        gfv_payload, _ = encode_gfv_payload(self.enc_state, self.s.gfv_id, kp, self.s.precision, trace=gfv_trace,
                                            kps_pred=self.s.kps_pred, **kwargs)
        gfv = self.dec_state.decode_payload(gfv_payload)
        pictures = self.bl_dec.decode(au.annexb())
        if len(pictures) != 1:
            raise HdacError(f"picture {index}: the base-layer decoder returned {len(pictures)} pictures for one "
                            "access unit (the low-delay structure must have no reordering)")
        out = self.reconstructor.picture(index, gfv, pictures[0], is_key, qp)
        md5 = md5_planes(list(out.rgb))
        messages = [(GENERATIVE_FACE_VIDEO, gfv_payload, gfv_trace)]
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
        messages = [(pt, payload) for pt, payload, _ in messages]
        sei_nal = nu.annexb(make_sei_nal_unit(self.codec, messages, suffix=True))
        data = au_bytes + sei_nal
        return data, EncodedPicture(index, is_key, fusion, 8 * len(au_bytes), 8 * len(sei_nal), out, md5, pictures[0])
