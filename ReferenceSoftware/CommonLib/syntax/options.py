"""Options of the stream's syntax that both EncoderApp and DecoderApp (and EvalApp) take, declared once, with
their choices from the constants that define them."""
from __future__ import annotations

from CommonLib.syntax.gfv_sei import GFV_SYNTAX_VERSIONS
from CommonLib.syntax.nal_unit import CODECS, HEVC
from Utilities.app_config import Option

BASE_LAYER_CODEC = Option("BaseLayerCodec", str, HEVC, f"base-layer codec: {' or '.join(CODECS)}", choices=CODECS)
GFV_SEI_SYNTAX = Option("GfvSeiSyntax", str, GFV_SYNTAX_VERSIONS[0], "GFV SEI syntax version: vtm (VTM 23.13, "
                        "JVET-AM0334) or hm18 (HM 18.0's JVET_AJ0207_GFV)", choices=GFV_SYNTAX_VERSIONS)
