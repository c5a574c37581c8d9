"""ConverterApp: float model file (.safetensors) -> integer model file (.hfim).

    python -m ConverterApp -m float.safetensors -o model.hfim [--SequenceList list.yaml] [--Key value]

Calibrates the activation quantisers on training clips (split ``train``) and
writes the integer model of the normative decoding process
(doc/integer_model_format.md).
"""
from __future__ import annotations

import sys

from CommonLib.app_config import Option, resolve_resource
from CommonLib.app_main import run_app

OPTIONS = [
    Option("InputModel", str, "", "float model file (.safetensors)", short="m"),
    Option("OutputModel", str, "", "integer model file to write (.hfim)", short="o"),
    Option("ModelName", str, "", "name stored in the integer model (empty = the float model's name)"),
    Option("SequenceList", str, "../shared/sequences/sequences.yaml", "YAML list of sequences (split 'train' used)"),
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
    Option("Threads", int, 0, "torch threads (0 = default)"),
]


def main(argv=None) -> int:
    return run_app("ConverterApp", OPTIONS, argv, run)


def run(cfg) -> int:
    import torch

    from CommonLib.errors import ConfigError
    from CommonLib.fixed_point.int_model_file import IntegerModelFile, write_integer_model
    from CommonLib.network.model_file import load_model
    from CommonLib.sequence_list import read_sequence_list
    from ConverterApp.calibration import calibration_samples
    from ConverterApp.converter import convert
    from TrainerApp.training_data import prepare_clips

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
    try:
        qps = [int(v) for v in cfg.BaseLayerQPs.split(",")]
    except ValueError:
        raise ConfigError(f"BaseLayerQPs '{cfg.BaseLayerQPs}' is not a comma-separated list of integers") from None
    model, meta = load_model(resolve_resource(cfg.InputModel))
    seqs = read_sequence_list(resolve_resource(cfg.SequenceList), "train")
    names = [s for s in cfg.CalibrationSequences.split(",") if s]
    if names:
        unknown = set(names) - {s["name"] for s in seqs}
        if unknown:
            raise ConfigError(f"CalibrationSequences {sorted(unknown)} are not training clips of the list")
        seqs = [s for s in seqs if s["name"] in names]
    clips = prepare_clips(seqs, cfg.CacheDir, qps, cfg.IntraQP, cfg.IntraPeriod, cfg.MaxFramesPerClip, False)
    samples = calibration_samples(model, clips, qps, cfg.CalibrationPictures)
    layers, consts, calib = convert(model, samples, cfg.WeightBits, cfg.Margin, cfg.ActivationBits)
    name = cfg.ModelName or meta.get("model_name", "model")
    conversion = {"weight_bits": cfg.WeightBits, "activation_bits": cfg.ActivationBits, "margin": cfg.Margin, "calibration_clips": [s["name"] for s in seqs],
                  "calibration_pictures_per_clip": cfg.CalibrationPictures, "calibration_samples": len(samples),
                  "base_layer_qps": qps, "intra_qp": cfg.IntraQP, "activation_q": calib["q"]}
    sha = write_integer_model(cfg.OutputModel, name, model.cfg, layers, consts, model.kp_detector.state_dict(),
                              meta["sha256"], conversion)
    net = IntegerModelFile(cfg.OutputModel).network()
    bad = [n for n, ok in net.exactness_report().items() if not ok]
    if bad:
        raise ConfigError(f"layers {bad} violate the float32 exactness bound")
    print(f"ConverterApp: {len(samples)} calibration samples from {len(clips)} clips; "
          f"{len(layers)} integer layers, {cfg.WeightBits}-bit weights, {cfg.ActivationBits}-bit activations")
    print(f"ConverterApp: wrote {cfg.OutputModel} ({name}) sha256 {sha} (from float model sha256 {meta['sha256']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
