"""python -m TrainerApp -c cfg/train.yaml [--Key value ...]"""
from __future__ import annotations

import os
import sys

from CommonLib.app_config import Option, flag, int_list, resolve_resource
from CommonLib.app_main import run_app
from EncoderLib.base_layer_settings import DEFAULT_X265_PARAMS, DEFAULT_X265_PRESET

OPTIONS = [
    Option("NetworkConfig", str, "small", "architecture preset", choices=("small", "paper", "tiny")),
    Option("HfFilter", str, "laplacian4", "HF shuttling filter: none (HDAC+), highpass8 (Filter 1), laplacian4 (Filter 2)",
           choices=("none", "highpass8", "laplacian4")),
    Option("HfOrder", str, "filter_warp", "filter_warp (paper eqs. 2-3) or unwarped (public code)",
           choices=("filter_warp", "unwarped")),
    flag("HfL2Norm", 0, "L2-normalise channels after each HF addition (public code variant)"),
    Option("SequenceList", str, "../shared/sequences/sequences.yaml", "YAML list of sequences (split 'train' is used)"),
    Option("ValidationSequences", str, "train_vr_face5,train_hdtf_radio10",
           "comma-separated training clips held out for validation"),
    Option("CacheDir", str, "work/train_cache", "cache of source / decoded base-layer pictures"),
    Option("IntraQP", int, 27, "QP of the IRAP key pictures of the training streams"),
    Option("TrainIntraPeriod", int, 100, "IRAP period of the training streams"),
    Option("BaseLayerQPs", str, "44,46,48,50", "base-layer QPs drawn per sample"),
    Option("X265Preset", str, DEFAULT_X265_PRESET, "x265 preset of the training base layers (EncoderApp's default)"),
    Option("X265Params", str, DEFAULT_X265_PARAMS, "x265 parameters of the training base layers"),
    Option("MaxFramesPerClip", int, 250, "pictures used per clip"),
    Option("Steps", int, 4000, "total optimisation steps"),
    Option("BatchSize", int, 4, "samples per step"),
    Option("LearningRate", float, 2e-4, "Adam learning rate"),
    Option("LrDecaySteps", str, "", "comma-separated steps at which the learning rate is multiplied by LrDecayFactor"),
    Option("LrDecayFactor", float, 0.1, "learning-rate decay factor"),
    Option("Seed", int, 1, "random seed"),
    Option("BaseDropout", float, 0.25, "probability of zeroing the base-layer features"),
    Option("WeightL1", float, 1.0, "weight of the L1 pyramid (4 scales)"),
    Option("WeightMSE", float, 100.0, "MSE weight"),
    Option("WeightEdge", float, 1.0, "Laplacian edge L1 weight"),
    Option("WeightEquivariance", float, 10.0, "keypoint equivariance weight"),
    Option("WeightGan", float, 0.0, "LSGAN + feature-matching weight (0 = off; multi-scale patch discriminator)"),
    Option("VggWeights", str, "", "local VGG19 state dict (torchvision names) for the perceptual loss; empty = off"),
    Option("Device", str, "cpu", "cpu or cuda", choices=("cpu", "cuda")),
    Option("Threads", int, 0, "torch threads (0 = default)"),
    flag("DataOnDevice", 0, "keep the training pictures on the Device and assemble batches there (GPU training; "
         "same samples as on the CPU)"),
    Option("PrepareJobs", int, 1, "processes that encode the training clips' base layers (first run only)"),
    Option("MaxMinutes", float, 0.0, "stop after this wall time (checkpoint and model are written); 0 = no limit"),
    flag("ChannelsLast", 1, "channels-last memory format (faster CPU convolutions)"),
    Option("OutputDir", str, "runs/train", "checkpoints and logs"),
    Option("OutputModel", str, "", "final model file (.safetensors); empty = OutputDir/model.safetensors"),
    Option("ModelName", str, "hdac_hf_small", "name stored in the model file"),
    Option("CheckpointEvery", int, 200, "steps between checkpoints"),
    Option("ValidateEvery", int, 500, "steps between validations (0 = never)"),
    Option("ValidationFrames", int, 8, "pictures per validation clip"),
    flag("Resume", 0, "continue from OutputDir's checkpoint"),
    Option("InitModel", str, "", "model file whose weights start the training (fine-tuning); its architecture "
           "must equal NetworkConfig/HfFilter; empty = random initialisation"),
    flag("Progress", 1, "progress bar"),
]


def main(argv=None) -> int:
    return run_app("TrainerApp", OPTIONS, argv, run)


def run(cfg) -> int:
    import torch

    from CommonLib.errors import ConfigError
    from CommonLib.network_config import preset
    from CommonLib.network.model_file import save_model
    from TrainerApp.trainer import Trainer, validate
    from CommonLib.sequence_list import read_sequence_list
    from TrainingLib.training_data import prepare_clips

    if cfg.Threads:
        torch.set_num_threads(cfg.Threads)
    if cfg.Device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("Device cuda requested but no CUDA device is available")
    qps = int_list("BaseLayerQPs", cfg.BaseLayerQPs)
    int_list("LrDecaySteps", cfg.LrDecaySteps, allow_empty=True)
    net_cfg = preset(cfg.NetworkConfig, cfg.HfFilter)
    net_cfg.generator.hf_order = cfg.HfOrder
    net_cfg.generator.hf_l2norm = bool(cfg.HfL2Norm)
    seqs = read_sequence_list(resolve_resource(cfg.SequenceList), "train")
    held = {s for s in cfg.ValidationSequences.split(",") if s}
    unknown = held - {s["name"] for s in seqs}
    if unknown:
        raise ConfigError(f"ValidationSequences {sorted(unknown)} are not training clips of the list")
    from EncoderLib.base_layer_settings import BaseLayerSettings
    base_layer = BaseLayerSettings(x265_preset=cfg.X265Preset, x265_params=cfg.X265Params, picture_hash=0)
    prep = dict(cache_dir=cfg.CacheDir, qps=qps, intra_qp=cfg.IntraQP, intra_period=cfg.TrainIntraPeriod,
                max_frames=cfg.MaxFramesPerClip, progress=bool(cfg.Progress), jobs=max(1, cfg.PrepareJobs),
                base_layer=base_layer)
    train_clips = prepare_clips([s for s in seqs if s["name"] not in held], **prep)
    val_clips = prepare_clips([s for s in seqs if s["name"] in held], **prep)
    print(f"TrainerApp: {len(train_clips)} training clips ({sum(len(c.source) for c in train_clips)} pictures), "
          f"{len(val_clips)} validation clips, network '{net_cfg.name}', HF filter {net_cfg.generator.hf_filter}")
    trainer = Trainer(cfg, net_cfg, train_clips, val_clips, qps)
    if cfg.InitModel:
        trainer.init_from(resolve_resource(cfg.InitModel))
    if cfg.Resume:
        trainer.resume()
    stats = trainer.run()
    final_val = validate(trainer.model, val_clips, [qps[0], qps[-1]], cfg.ValidationFrames, trainer.device) \
        if cfg.ValidationFrames and val_clips else {}
    out = cfg.OutputModel or os.path.join(cfg.OutputDir, "model.safetensors")
    recipe = {k: v for k, v in cfg.as_dict().items() if k not in ("Progress", "Resume", "OutputDir", "OutputModel")}
    digest = save_model(trainer.model.cpu(), out, cfg.ModelName,
                        extra={"training_recipe": recipe, "training_steps": trainer.step,
                               "training_samples": trainer.step * cfg.BatchSize,
                               "validation": final_val})
    from CommonLib.files import write_json
    write_json(os.path.join(cfg.OutputDir, "training_log.json"), {"stats": stats, "history": trainer.history,
               "final_validation": final_val, "model": out, "sha256": digest}, "training log")
    print(f"TrainerApp: {trainer.step} steps, {stats['samples_per_s']:.2f} samples/s; model {out} sha256 {digest}")
    for qp, r in final_val.items():
        print(f"TrainerApp: validation QP{qp}: generated {r['gen_psnr_y']:.2f} dB / {r['gen_ms_ssim']:.4f}, "
              f"base layer {r['base_psnr_y']:.2f} dB / {r['base_ms_ssim']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
