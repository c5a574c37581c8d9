"""The base-layer encoder of an HDAC-HF stream and its settings (EncoderApp's BaseLayer*, X265*, Hm* options).

``encoder``:

* ``x265`` (default): x265 through PyAV, in-process (EncoderLib.base_layer_encoder), preset
  ``x265_preset`` with ``x265_params``; ``qp_cascade`` gives it HM's low-delay P QP cascade;
* ``hm``: HM's TAppEncoder (``hm_encoder``) with a JVET cfg (``hm_cfg``; empty = the
  ``encoder_lowdelay_P_main.cfg`` of the HM installation the binary belongs to, see
  :func:`EncoderLib.jvet_encoder.default_cfg`), which codes its own QP cascade
  (EncoderLib.offline_base_layer_encoder);
* ``vtm``: VTM's EncoderApp (``vtm_encoder``) with a JVET cfg (``vtm_cfg``; empty = the installation's
  ``encoder_lowdelay_P_vtm.cfg``): VVC, the slow and best base layer;
* ``vvenc``: VVenC's vvencFFapp (``vvenc_encoder``) at preset ``vvenc_preset`` with ``vvenc_params``
  (EncoderLib.vvenc_encoder): VVC, fast;
* ``external``: any command line (``external_command``) writing an Annex-B stream of ``codec``.

The same settings serve EncoderApp, EvalApp's rate points, ConverterApp's residual-scale fit and the
training data of TrainerApp, so that every tool codes base layers the way EncoderApp does.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from fractions import Fraction

from EncoderLib.vvenc_encoder import VVENC_PRESETS
from Utilities.app_config import Option
from Utilities.errors import ConfigError

__all__ = ["BASE_LAYER_ENCODERS", "ENCODER_CODEC", "DEFAULT_X265_PRESET", "DEFAULT_X265_PARAMS", "DEFAULT_VVENC_PRESET",
           "BaseLayerSettings"]

BASE_LAYER_ENCODERS = ("x265", "hm", "vtm", "vvenc", "external")
#: the codec of the streams each base-layer encoder writes
ENCODER_CODEC = {"x265": "hevc", "hm": "hevc", "vtm": "vvc", "vvenc": "vvc"}
#: x265 settings of the base layer, chosen by measurement (doc/results/x265_presets/report.md: against HM on the
#: test split, BD-rate PSNR-Y +42 % instead of +65 % for preset medium, about 40 pictures/s of 256x256)
DEFAULT_X265_PRESET = "veryslow"
DEFAULT_X265_PARAMS = "psy-rd=0:psy-rdoq=0:aq-mode=0"
#: VVenC preset of the VVenC base layer, chosen by measurement (doc/results/vvc_base_layer/report.md: against VTM
#: low-delay B on the test split, BD-rate PSNR-Y +9.1 % for medium, +5.6 % for slow at about half medium's speed,
#: +15.1 % fast, +19.2 % faster; medium is HM's rate, -0.1 %)
DEFAULT_VVENC_PRESET = "medium"

#: the base-layer options EncoderApp, EvalApp and TrainerApp share (one declaration each)
X265_PRESET = Option("X265Preset", str, DEFAULT_X265_PRESET, "x265 preset of the x265 base layer")
X265_PARAMS = Option("X265Params", str, DEFAULT_X265_PARAMS, "x265 parameters of the x265 base layer "
                     "(key=value:key=value)")
HM_ENCODER = Option("HmEncoder", str, "", "HM's TAppEncoder binary (HM base layer)")
HM_ENCODER_CFG = Option("HmEncoderCfg", str, "", "HM cfg file (empty = encoder_lowdelay_P_main.cfg of HmEncoder's "
                        "installation)")
VTM_ENCODER = Option("VtmEncoder", str, "", "VTM's EncoderApp binary (VTM base layer; EvalApp: VTM anchors)")
VTM_ENCODER_CFG = Option("VtmEncoderCfg", str, "", "VTM cfg file (empty = encoder_lowdelay_P_vtm.cfg of VtmEncoder's "
                         "installation)")
VVENC_ENCODER = Option("VvencEncoder", str, "", "VVenC's vvencFFapp binary (VVenC base layer)")
VVENC_PRESET = Option("VvencPreset", str, DEFAULT_VVENC_PRESET, "VVenC preset of the VVenC base layer",
                      choices=VVENC_PRESETS)
VVENC_PARAMS = Option("VvencParams", str, "", "further vvencFFapp options of the VVenC base layer (space separated, "
                      "e.g. '--MCTF 0')")
@dataclass
class BaseLayerSettings:
    encoder: str = "x265"
    codec: str = "hevc"
    x265_preset: str = DEFAULT_X265_PRESET
    x265_params: str = DEFAULT_X265_PARAMS
    qp_cascade: bool = False
    hm_encoder: str = ""
    hm_cfg: str = ""
    vtm_encoder: str = ""
    vtm_cfg: str = ""
    vvenc_encoder: str = ""
    vvenc_preset: str = DEFAULT_VVENC_PRESET
    vvenc_params: str = ""
    external_command: str = ""
    picture_hash: int = 1

    def __post_init__(self):
        if self.encoder not in BASE_LAYER_ENCODERS:
            raise ConfigError(f"BaseLayerEncoder '{self.encoder}' (choose {', '.join(BASE_LAYER_ENCODERS)})")
        if self.encoder in ENCODER_CODEC and self.codec != ENCODER_CODEC[self.encoder]:
            raise ConfigError(f"BaseLayerEncoder {self.encoder} writes {ENCODER_CODEC[self.encoder].upper()}: set "
                              f"BaseLayerCodec {ENCODER_CODEC[self.encoder]} (it is {self.codec})")
        if self.vvenc_preset not in VVENC_PRESETS:
            raise ConfigError(f"VvencPreset '{self.vvenc_preset}' (choose {', '.join(VVENC_PRESETS)})")
        if self.external_command and self.encoder != "external":
            raise ConfigError(f"ExternalEncoderCommand is set but BaseLayerEncoder is {self.encoder} "
                              "(set BaseLayerEncoder external)")
        if self.encoder == "external" and not self.external_command.strip():
            raise ConfigError("BaseLayerEncoder external needs ExternalEncoderCommand")
        if self.qp_cascade and self.encoder != "x265":
            raise ConfigError(f"BaseLayerQPCascade applies to x265 (BaseLayerEncoder {self.encoder} codes its own "
                              "QP structure)")
        if self.vvenc_params and self.encoder != "vvenc":
            raise ConfigError(f"VvencParams is set but BaseLayerEncoder is {self.encoder}")
        self._jvet = None

    def jvet_encoder(self):
        """The offline encoder of ``hm``, ``vtm`` or ``vvenc`` with its cfg or preset (checked: binary present and
        executable, cfg present)."""
        if self._jvet is None:
            from EncoderLib.jvet_encoder import jvet_encoder
            if self.encoder == "hm":
                self._jvet = jvet_encoder("HM", self.hm_encoder, self.hm_cfg)
            elif self.encoder == "vtm":
                self._jvet = jvet_encoder("VTM", self.vtm_encoder, self.vtm_cfg)
            else:
                from EncoderLib.vvenc_encoder import vvenc_encoder
                self._jvet = vvenc_encoder(self.vvenc_encoder, self.vvenc_preset, self.vvenc_params)
        return self._jvet

    @property
    def offline(self) -> bool:
        """True for the encoders that code the whole sequence in one run of a binary (HM, VTM, VVenC)."""
        return self.encoder in ("hm", "vtm", "vvenc")

    def check(self, intra_period: int) -> None:
        """Fail early (before any picture is read) on what the chosen encoder cannot do."""
        if self.offline:
            self.jvet_encoder().check_intra_period(intra_period)

    def create(self, width: int, height: int, frame_rate: Fraction, intra_qp: int, base_qp: int, intra_period: int,
               num_pictures: int):
        """A base-layer encoder for one sequence of ``num_pictures`` pictures."""
        if self.encoder == "x265":
            from EncoderLib.base_layer_encoder import X265BaseLayerEncoder
            from EncoderLib.qp_cascade import lowdelay_p_qps
            qps = lowdelay_p_qps(num_pictures, base_qp, intra_qp, intra_period) if self.qp_cascade else None
            return X265BaseLayerEncoder(width, height, frame_rate, intra_qp, base_qp, intra_period, self.picture_hash,
                                        self.x265_preset, self.x265_params, picture_qps=qps)
        if self.offline:
            from EncoderLib.offline_base_layer_encoder import JvetBaseLayerEncoder
            return JvetBaseLayerEncoder(self.jvet_encoder(), width, height, frame_rate, base_qp, intra_qp,
                                        intra_period, self.picture_hash)
        from EncoderLib.offline_base_layer_encoder import ExternalBaseLayerEncoder
        return ExternalBaseLayerEncoder(self.external_command, self.codec, width, height, frame_rate, base_qp,
                                        intra_qp, intra_period)

    def identity(self) -> dict:
        """What a stored CTC point made with these settings must match to be reused."""
        d = {"encoder": self.encoder, "codec": self.codec}
        if self.encoder == "x265":
            d.update(x265_preset=self.x265_preset, x265_params=self.x265_params, qp_cascade=int(self.qp_cascade))
        elif self.offline:
            d.update(self.jvet_encoder().identity())
        else:
            d.update(external_command=self.external_command)
        return d

    def describe(self) -> str:
        if self.encoder == "x265":
            return f"x265 preset {self.x265_preset}" + (f" ({self.x265_params})" if self.x265_params else "") + \
                (", HM QP cascade" if self.qp_cascade else "")
        if self.encoder in ("hm", "vtm"):
            e = self.jvet_encoder()
            speed = "about 4 pictures/s" if self.encoder == "hm" else "about 1 picture/s"
            return f"{e.codec_name} {os.path.basename(e.binary)} -c {os.path.basename(e.cfg_file)} ({speed} of 256x256)"
        if self.encoder == "vvenc":
            e = self.jvet_encoder()
            return f"VVenC {os.path.basename(e.binary)} --preset {e.preset}" + (f" {e.params}" if e.params else "") + \
                " (low delay, GOP 8)"
        return f"external: {self.external_command}"

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items()}
