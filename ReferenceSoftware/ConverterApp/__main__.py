"""ConverterApp: float model file (.safetensors) -> integer model file (.hfim).

    python -m ConverterApp -m float.safetensors -o model.hfim [--SequenceList list.yaml] [--Key value]
    python -m ConverterApp -m model.hfim -o new.hfim --ResidualScaleQPs 40,44,46,48,50 [--ModelName name]

Calibrates the activation quantisers on training clips (split ``train``) and
writes the integer model of the normative decoding process
(doc/integer_model_format.md). With ``ResidualScaleQPs`` it then fits the
model's ResidualScale table on training clips (TrainingLib.residual_scale_fit).
Given an integer model, it skips the conversion and writes a copy with the
new table (and ``ModelName``).
"""
from __future__ import annotations

import os
import sys

from Utilities.app_config import Option, flag, int_list, resolve_resource
from Utilities.app_main import run_app
from CommonLib.syntax.options import BASE_LAYER_CODEC
from EncoderLib.base_layer_settings import (HM_ENCODER, HM_ENCODER_CFG, VTM_ENCODER, VTM_ENCODER_CFG, VVENC_ENCODER,
                                           VVENC_PARAMS, VVENC_PRESET, X265_PARAMS, X265_PRESET)
from Utilities.common_options import THREADS, sequence_list_option

OPTIONS = [
    Option("InputModel", str, "", "float model file (.safetensors), or an integer model (.hfim) to copy with a new "
           "ResidualScale table / ModelName", short="m"),
    Option("OutputModel", str, "", "integer model file to write (.hfim)", short="o"),
    Option("ModelName", str, "", "name stored in the integer model (empty = the float model's name)"),
    sequence_list_option("train"),
    Option("CalibrationSequences", str, "", "comma-separated clip names (empty = every training clip)"),
    Option("CalibrationPictures", int, 4, "target pictures per clip"),
    Option("BaseLayerQPs", str, "44,50", "base-layer QPs of the calibration samples"),
    Option("IntraQP", int, 27, "QP of the key pictures of the calibration streams"),
    Option("IntraPeriod", int, 100, "IRAP period of the calibration streams"),
    Option("MaxFramesPerClip", int, 250, "pictures read per clip"),
    Option("CacheDir", str, "work/train_cache", "cache of encoded / decoded calibration clips (shared with TrainerApp)"),
    Option("WeightBits", int, 8, "bits of the integer weights (8..16)"),
    Option("ActivationBits", int, 16, "bits of the integer activations (8..16)"),
    Option("Margin", float, 1.25, "activation head-room factor over the calibrated maximum"),
    flag("KeypointDetector", 0, "convert the keypoint detector too: the integer keypoint detector with which "
         "decoders derive keypoints (EncoderApp KeypointTransmission never / rd)"),
    THREADS,
    Option("ResidualScaleQPs", str, "", "base-layer QPs at which the ResidualScale table is fitted (empty = no table)"),
    Option("ResidualScaleSequences", str, "", "comma-separated training clips of the fit (empty = every training clip)"),
    Option("ResidualScaleFrames", int, 60, "pictures coded per clip in the fit"),
    Option("ResidualScaleIntraPeriod", int, 0, "IRAP period of the fit's streams (0 = first picture only, as EncoderApp)"),
    Option("ResidualScaleFrom", str, "", "integer model whose ResidualScale table (and fit record) the output takes "
           "instead of a fit"),
    Option("BaseLayerEncoder", str, "x265", "encoder of the calibration and fit streams' base layers: x265, hm "
           "(HEVC), vvenc, vtm (VVC, BaseLayerCodec vvc: the fitted table then has 64 entries)",
           choices=("x265", "hm", "vtm", "vvenc")),
    BASE_LAYER_CODEC,
    X265_PRESET,
    X265_PARAMS,
    HM_ENCODER,
    HM_ENCODER_CFG,
    VTM_ENCODER,
    VTM_ENCODER_CFG,
    VVENC_ENCODER,
    VVENC_PRESET,
    VVENC_PARAMS,
]


def _base_layer(cfg):
    """The base-layer settings of the calibration and fit streams (as EncoderApp's; no hash SEI)."""
    from EncoderLib.base_layer_settings import BaseLayerSettings
    return BaseLayerSettings(cfg.BaseLayerEncoder, cfg.BaseLayerCodec, x265_preset=cfg.X265Preset,
                             x265_params=cfg.X265Params, hm_encoder=cfg.HmEncoder, hm_cfg=cfg.HmEncoderCfg,
                             vtm_encoder=cfg.VtmEncoder, vtm_cfg=cfg.VtmEncoderCfg, vvenc_encoder=cfg.VvencEncoder,
                             vvenc_preset=cfg.VvencPreset, vvenc_params=cfg.VvencParams, picture_hash=0)




def _training_clips(cfg, names_text: str, option: str):
    from Utilities.errors import ConfigError
    from Utilities.sequence_list import read_sequence_list
    seqs = read_sequence_list(resolve_resource(cfg.SequenceList), "train")
    names = [s for s in names_text.split(",") if s]
    if names:
        unknown = set(names) - {s["name"] for s in seqs}
        if unknown:
            raise ConfigError(f"{option} {sorted(unknown)} are not training clips of the list")
        seqs = [s for s in seqs if s["name"] in names]
    return seqs


def main(argv=None) -> int:
    return run_app("ConverterApp", OPTIONS, argv, run)


def run(cfg) -> int:
    import torch

    from Utilities.errors import ConfigError
    from CommonLib.fixed_point.int_model_file import (IntegerModelFile, is_integer_model_file, rewrite_integer_model,
                                                      write_integer_model)
    from CommonLib.network.model_file import load_model
    from TrainingLib.calibration import calibration_samples
    from TrainingLib.converter import convert
    from TrainingLib.training_data import prepare_clips

    if not cfg.InputModel or not cfg.OutputModel:
        raise ConfigError("both InputModel (-m) and OutputModel (-o) are required")
    if not 8 <= cfg.WeightBits <= 16:
        raise ConfigError(f"WeightBits {cfg.WeightBits} outside 8..16")
    if not 8 <= cfg.ActivationBits <= 16:
        raise ConfigError(f"ActivationBits {cfg.ActivationBits} outside 8..16")
    if cfg.Margin < 1:
        raise ConfigError(f"Margin {cfg.Margin} below 1")
    if cfg.Threads:
        torch.set_num_threads(cfg.Threads)
    qps = int_list("BaseLayerQPs", cfg.BaseLayerQPs)
    rs_qps = int_list("ResidualScaleQPs", cfg.ResidualScaleQPs, allow_empty=True)
    if any(not 0 <= q <= 51 for q in qps + rs_qps):
        raise ConfigError("BaseLayerQPs and ResidualScaleQPs must be in 0..51")
    if cfg.ResidualScaleFrames < 2:
        raise ConfigError(f"ResidualScaleFrames {cfg.ResidualScaleFrames} below 2")
    source = resolve_resource(cfg.InputModel)
    if rs_qps and cfg.ResidualScaleFrom:
        raise ConfigError("give ResidualScaleQPs (a fit) or ResidualScaleFrom (a copy), not both")
    if is_integer_model_file(source):
        imf = IntegerModelFile(source)
        table, fit = imf.residual_scale, imf.header.get("residual_scale_fit")
        if rs_qps:
            table, fit = _fit(cfg, source, rs_qps)
        elif cfg.ResidualScaleFrom:
            table, fit = _table_from(cfg.ResidualScaleFrom)
        sha = rewrite_integer_model(imf, cfg.OutputModel, cfg.ModelName or imf.model_name, table, fit)
        print(f"ConverterApp: wrote {cfg.OutputModel} ({cfg.ModelName or imf.model_name}) sha256 {sha} "
              f"(tensors of {source}, ResidualScale {'table' if table else 'none'})")
        return 0
    model, meta = load_model(source)
    seqs = _training_clips(cfg, cfg.CalibrationSequences, "CalibrationSequences")
    clips = prepare_clips(seqs, cfg.CacheDir, [(cfg.IntraQP, q) for q in qps], cfg.IntraPeriod, cfg.MaxFramesPerClip,
                          False, base_layer=_base_layer(cfg))
    samples = calibration_samples(model, clips, [(cfg.IntraQP, q) for q in qps], cfg.CalibrationPictures)
    layers, consts, calib = convert(model, samples, cfg.WeightBits, cfg.Margin, cfg.ActivationBits,
                                    detector=bool(cfg.KeypointDetector))
    name = cfg.ModelName or meta.get("model_name", "model")
    conversion = {"weight_bits": cfg.WeightBits, "activation_bits": cfg.ActivationBits, "margin": cfg.Margin,
                  "calibration_clips": [s["name"] for s in seqs],
                  "calibration_pictures_per_clip": cfg.CalibrationPictures, "calibration_samples": len(samples),
                  "base_layer_qps": qps, "intra_qp": cfg.IntraQP, "activation_q": calib["q"]}
    if cfg.KeypointDetector:
        conversion["keypoint_detector"] = 1
    sha = write_integer_model(cfg.OutputModel, name, model.cfg, layers, consts, model.kp_detector.state_dict(),
                              meta["sha256"], conversion)
    net = IntegerModelFile(cfg.OutputModel).network()
    bad = [n for n, ok in net.exactness_report().items() if not ok]
    if bad:
        raise ConfigError(f"layers {bad} violate the float32 exactness bound")
    if rs_qps:
        try:
            table, fit = _fit(cfg, cfg.OutputModel, rs_qps)
        except BaseException:
            os.remove(cfg.OutputModel)      # not left behind without the table it was asked for
            raise
        sha = rewrite_integer_model(IntegerModelFile(cfg.OutputModel), cfg.OutputModel, name, table, fit)
    elif cfg.ResidualScaleFrom:
        table, fit = _table_from(cfg.ResidualScaleFrom)
        sha = rewrite_integer_model(IntegerModelFile(cfg.OutputModel), cfg.OutputModel, name, table, fit)
    print(f"ConverterApp: {len(samples)} calibration samples from {len(clips)} clips; "
          f"{len(layers)} integer layers, {cfg.WeightBits}-bit weights, {cfg.ActivationBits}-bit activations")
    print(f"ConverterApp: wrote {cfg.OutputModel} ({name}) sha256 {sha} (from float model sha256 {meta['sha256']})")
    return 0


def _table_from(path: str):
    """The ResidualScale table and fit record of another integer model (ResidualScaleFrom)."""
    from Utilities.errors import ConfigError
    from CommonLib.fixed_point.int_model_file import IntegerModelFile, is_integer_model_file
    path = resolve_resource(path)
    if not is_integer_model_file(path):
        raise ConfigError(f"ResidualScaleFrom '{path}' is not an integer model file")
    src = IntegerModelFile(path)
    if src.residual_scale is None:
        raise ConfigError(f"ResidualScaleFrom '{path}' has no ResidualScale table")
    fit = dict(src.header.get("residual_scale_fit") or {}, copied_from={"model_name": src.model_name,
                                                                       "sha256": src.sha256})
    return src.residual_scale, fit


def _fit(cfg, model_path: str, qps: list[int]):
    from TrainingLib.residual_scale_fit import fit_residual_scale
    seqs = _training_clips(cfg, cfg.ResidualScaleSequences, "ResidualScaleSequences")
    table, fit = fit_residual_scale(seqs, model_path, qps, cfg.IntraQP, cfg.ResidualScaleIntraPeriod,
                                    cfg.ResidualScaleFrames, log=lambda m: print(f"ConverterApp: {m}", flush=True),
                                    base_layer=_base_layer(cfg))
    print(f"ConverterApp: ResidualScale[0..{len(table) - 1}] = {table}")
    return table, fit


if __name__ == "__main__":
    sys.exit(main())
