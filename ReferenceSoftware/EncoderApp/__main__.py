"""python -m EncoderApp -c cfg/encoder.yaml [-c more.yaml] [--Option value ...]

Thin application over EncoderLib (see doc/software_manual.md for every option).
"""
from __future__ import annotations

import os
import sys
import time

from Utilities.app_config import EXAMPLE_CLIP, Option, flag, resolve_resource
from Utilities.app_main import TraceFile, run_app
from Utilities.errors import ConfigError, InputError
from CommonLib.syntax.options import BASE_LAYER_CODEC, GFV_SEI_SYNTAX
from Utilities.common_options import THREADS
from CommonLib.generation.model_registry import DEFAULT_HDAC_HF_MODEL
from EncoderLib.base_layer_settings import (BASE_LAYER_ENCODERS, HM_ENCODER, HM_ENCODER_CFG, VTM_ENCODER, VTM_ENCODER_CFG,
                                           VVENC_ENCODER, VVENC_PARAMS, VVENC_PRESET, X265_PARAMS, X265_PRESET)
from EncoderLib.encoder import KEYPOINT_TRANSMISSIONS

OPTIONS = [
    Option("InputFile", str, EXAMPLE_CLIP, "source video (.yuv 4:2:0, .y4m, .rgb 4:4:4, or any FFmpeg file)", "i"),
    Option("BitstreamFile", str, "str.bin", "output bitstream", "b"),
    Option("ReconFile", str, "", "reconstruction (.yuv / .y4m / .rgb); empty = none", "o"),
    Option("SourceWidth", int, 0, "picture width (needed for .yuv / .rgb)", "wdt"),
    Option("SourceHeight", int, 0, "picture height (needed for .yuv / .rgb)", "hgt"),
    Option("FrameRate", float, 0.0, "frame rate (0 = from the file, 25 for raw files)", "fr"),
    Option("FramesToBeEncoded", int, 0, "number of pictures to code (0 = all)", "f"),
    Option("FrameSkip", int, 0, "source pictures skipped at the start", "fs"),
    Option("IntraQP", int, 27, "QP of the IRAP key pictures"),
    Option("BaseLayerQP", int, 50, "QP of the low-delay P base-layer pictures (paper: 44..50)"),
    Option("IntraPeriod", int, 0, "key-picture refresh period in pictures (0 = first picture only)"),
    Option("BaseLayerEncoder", str, "x265", "HEVC: x265 (built in) or hm (HM's TAppEncoder, HmEncoder); VVC "
           "(BaseLayerCodec vvc): vtm (VTM's EncoderApp, VtmEncoder) or vvenc (vvencFFapp, VvencEncoder); or external "
           "(ExternalEncoderCommand)", choices=BASE_LAYER_ENCODERS),
    BASE_LAYER_CODEC,
    flag("BaseLayerQPCascade", 0, "x265: HM low-delay P QP cascade on the base layer (GOP 8, offsets "
         "5,4,5,4,5,4,5,1 + model offset) instead of constant BaseLayerQP"),
    X265_PRESET,
    X265_PARAMS,
    HM_ENCODER,
    HM_ENCODER_CFG,
    VTM_ENCODER,
    VTM_ENCODER_CFG,
    VVENC_ENCODER,
    VVENC_PRESET,
    VVENC_PARAMS,
    Option("ExternalEncoderCommand", str, "", "external base-layer encoder command, with {input} {output} {width} "
           "{height} {fps} {frames} {qp} {intra_qp} {intra_period}"),
    Option("ModelFile", str, DEFAULT_HDAC_HF_MODEL, "HDAC-HF integer model file (.hfim), named in the bitstream"),
    flag("FloatInference", 0, "reconstruct with the float network the integer model was converted from "
         "(non-normative; the generated-picture MD5 SEI is then not written)"),
    Option("FloatModelFile", str, "", "float model file for FloatInference (empty = the shipped one the integer "
           "model names)"),
    GFV_SEI_SYNTAX,
    Option("GfvId", int, 0, "gfv_id of every GFV SEI message"),
    Option("KeypointTransmission", str, "always", "always: keypoints in every picture (float detector of the source); "
           "never: fused pictures carry none, the decoder derives them (integer detector of the model); rd: sent "
           "where they pay for their bits", choices=KEYPOINT_TRANSMISSIONS),
    Option("KeypointLambdaScale", float, 1.0, "KeypointTransmission rd: lambda = this x HM's lambda of the picture's "
           "SliceQpY"),
    Option("KeypointPrecision", int, 8, "P = gfv_coordinate_precision_factor_minus1 + 1 (fractional bits)"),
    flag("KeypointPrediction", 1, "gfv_kps_pred_flag: predict keypoints (1) or code them absolutely (0)"),
    flag("Fusion", 1, "gfv_fusion_pic_flag: fuse the base layer (1) or animation-only (0)"),
    Option("NoFusionPictures", str, "", "pictures coded without fusion, e.g. '4-7,12'"),
    Option("SEIDecodedPictureHash", int, 1, "base layer's decoded picture hash SEI: 0 off, 1 MD5, 2 CRC, 3 checksum",
           choices=(0, 1, 2, 3)),
    flag("SEIGeneratedPictureHash", 1, "MD5 of each generated picture in a user_data_unregistered SEI"),
    flag("SEIUnknownPayload", 0, "add an SEI message of a reserved payloadType (decoders must skip it)"),
    Option("TraceFile", str, "", "syntax trace ('name  ue(v) : value'): SEI messages and base-layer headers"),
    THREADS,
    flag("Progress", 1, "progress bar on stderr"),
    flag("Verbose", 1, "one line per picture"),
]


def parse_ranges(text: str) -> set:
    out = set()
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            a, _, b = part.partition("-")
            lo, hi = int(a), int(b) if b else int(a)
        except ValueError:
            raise ConfigError(f"NoFusionPictures: bad range '{part}'") from None
        if lo < 0 or hi < lo:
            raise ConfigError(f"NoFusionPictures: bad range '{part}'")
        out.update(range(lo, hi + 1))
    return out


def base_layer_settings(cfg):
    from EncoderLib.base_layer_settings import BaseLayerSettings
    return BaseLayerSettings(cfg.BaseLayerEncoder, cfg.BaseLayerCodec, x265_preset=cfg.X265Preset,
                             x265_params=cfg.X265Params, qp_cascade=bool(cfg.BaseLayerQPCascade),
                             hm_encoder=cfg.HmEncoder, hm_cfg=cfg.HmEncoderCfg, vtm_encoder=cfg.VtmEncoder,
                             vtm_cfg=cfg.VtmEncoderCfg, vvenc_encoder=cfg.VvencEncoder, vvenc_preset=cfg.VvencPreset,
                             vvenc_params=cfg.VvencParams, external_command=cfg.ExternalEncoderCommand,
                             picture_hash=cfg.SEIDecodedPictureHash)


def run(cfg) -> int:
    import torch
    from fractions import Fraction

    from tqdm import tqdm

    from Utilities.files import OutputFile
    from CommonLib.syntax.bit_accounting import PictureBits
    from CommonLib.generation.picture_log import picture_line, rate_summary
    from Utilities.video_io import VideoReader, VideoWriter
    from EncoderLib.encoder import EncoderSettings, HdacHfEncoder
    from EncoderLib.encoder_model import open_encoder_model

    if cfg.Threads:
        torch.set_num_threads(cfg.Threads)
    if cfg.IntraPeriod < 0 or cfg.FramesToBeEncoded < 0 or cfg.FrameSkip < 0:
        raise ConfigError("IntraPeriod, FramesToBeEncoded and FrameSkip must not be negative")
    settings = EncoderSettings(gfv_id=cfg.GfvId, precision=cfg.KeypointPrecision, kps_pred=bool(cfg.KeypointPrediction),
                               generated_picture_hash=bool(cfg.SEIGeneratedPictureHash),
                               unknown_sei=bool(cfg.SEIUnknownPayload), fusion=bool(cfg.Fusion),
                               no_fusion=parse_ranges(cfg.NoFusionPictures), gfv_syntax=cfg.GfvSeiSyntax,
                               keypoint_transmission=cfg.KeypointTransmission,
                               keypoint_lambda_scale=cfg.KeypointLambdaScale)
    bl_settings = base_layer_settings(cfg)
    bl_settings.check(cfg.IntraPeriod)
    in_path = resolve_resource(cfg.InputFile)
    reader = VideoReader(in_path, cfg.SourceWidth, cfg.SourceHeight, cfg.FrameRate or None)
    info = reader.info
    rate = Fraction(cfg.FrameRate).limit_denominator(1001) if cfg.FrameRate else info.frame_rate
    n_total = min(cfg.FramesToBeEncoded or info.num_frames, info.num_frames - cfg.FrameSkip)
    if n_total <= 0:
        raise InputError(f"'{in_path}' has {info.num_frames} pictures; FrameSkip {cfg.FrameSkip} leaves none")
    model = open_encoder_model(resolve_resource(cfg.ModelFile))
    if cfg.FloatInference and cfg.SEIGeneratedPictureHash:
        print("EncoderApp: warning: FloatInference 1: the generated-picture MD5 SEI is not written", file=sys.stderr)
    bl = bl_settings.create(info.width, info.height, rate, cfg.IntraQP, cfg.BaseLayerQP, cfg.IntraPeriod, n_total)
    print(f"EncoderApp: {in_path} {info.width}x{info.height} {float(rate):.3f} fps, {max(n_total, 0)} pictures; "
          f"IntraQP {cfg.IntraQP}, BaseLayerQP {cfg.BaseLayerQP}, IntraPeriod {cfg.IntraPeriod}; "
          f"base layer {bl_settings.describe()}; GFV SEI syntax {cfg.GfvSeiSyntax}; "
          f"model {model.name} sha256 {model.sha256}")
    t0 = time.time()
    totals = {"bits": PictureBits(), "n": 0}
    ok = False
    bs = OutputFile(cfg.BitstreamFile, "wb", "bitstream")
    recon = None
    try:
        with TraceFile(cfg.TraceFile) as trace:
            recon = VideoWriter(cfg.ReconFile, info.width, info.height, rate) if cfg.ReconFile else None
            enc = HdacHfEncoder(settings, bl, model, bl_settings.codec, trace, None, bool(cfg.FloatInference),
                                resolve_resource(cfg.FloatModelFile) if cfg.FloatModelFile else "")
            bar = tqdm(total=n_total, desc="encode", unit="pic", disable=not cfg.Progress, file=sys.stderr,
                       leave=False)
            if hasattr(bl, "progress") and cfg.Progress:
                bl_bar = tqdm(total=n_total, desc=f"{bl_settings.encoder.upper()} base layer", unit="pic",
                              file=sys.stderr, leave=False, position=1)
                bl.progress = lambda k: bl_bar.update(k - bl_bar.n)

            def emit(results):
                for data, pic in results:
                    bs.write(data)
                    if recon:
                        recon.write(pic.out.yuv if pic.out.yuv is not None else pic.out.rgb)
                    totals["bits"] += pic.bits
                    totals["n"] += 1
                    if cfg.Verbose:
                        line = picture_line(pic.index, pic.kind, pic.bits, pic.out.residual_scale, pic.md5)
                        bar.write(line, file=sys.stdout) if cfg.Progress else print(line)
                    bar.update(1)

            for pic in reader.frames(cfg.FrameSkip, cfg.FramesToBeEncoded):
                emit(enc.encode_picture(pic))
            emit(enc.flush())
            bar.close()
        ok = True
    finally:
        bs.close(ok)
        if recon:
            recon.close(ok)
    dt = time.time() - t0
    n = totals["n"]
    dur = n / float(rate)
    print(f"EncoderApp: {n} pictures, {dur:.3f} s of video: {rate_summary(totals['bits'], n, dur)}")
    print(f"EncoderApp: wrote {cfg.BitstreamFile} ({os.path.getsize(cfg.BitstreamFile)} bytes)"
          + (f" and {cfg.ReconFile}" if cfg.ReconFile else "") + f"; {dt:.2f} s, {n / dt:.2f} pictures/s")
    return 0


def main(argv=None) -> int:
    return run_app("EncoderApp", OPTIONS, argv, run)


if __name__ == "__main__":
    sys.exit(main())
