"""python -m TrainerApp -c cfg/train.yaml [--Key value ...]"""
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
    Option("NetworkConfig", str, "small", "architecture preset", choices=("small", "paper", "tiny")),
    Option("HfFilter", str, "laplacian4", "HF shuttling filter: none (HDAC+), highpass8 (Filter 1), laplacian4 (Filter 2)",
           choices=("none", "highpass8", "laplacian4")),
    Option("HfOrder", str, "filter_warp", "filter_warp (paper eqs. 2-3) or unwarped (public code)",
           choices=("filter_warp", "unwarped")),
    flag("PostFilter", 0, "ablation: the generator without the key picture (generator.key_input false: zeros for "
         "the warped key features, no HF shuttling), a post-filter of the base layer at the same decoder cost"),
    flag("DenseMotionBase", 0, "the down-sampled base-layer picture is an input of the dense motion network "
         "(dense_motion.base_input; an InitModel without it is widened with zero weights)"),
    flag("BaseSkips", 0, "U-Net skips of the base layer: the base encoder's features of every level below the "
         "bottleneck are added, through a 1x1 convolution (zeros at first), to the decoder's input of that level "
         "(generator.base_skips; an InitModel without them starts with zero weights)"),
    Option("RefineLayers", int, 0, "local refinement of the output picture, P + R(P): a chain of this many 3x3 "
           "convolutions (0 = none, else at least 2; generator.refine_layers; an InitModel without it starts with "
           "R = 0: random weights but a zero last convolution)"),
    Option("RefineChannels", int, 32, "width of the refinement's convolutions (generator.refine_channels)"),
    Option("NewTensorLrScale", float, 1.0, "learning-rate multiplier of the tensors InitModel does not have and "
           "that start at zero (generator.base_skip.* with BaseSkips 1, generator.refine.* with RefineLayers): Adam moves a weight by about the learning "
           "rate per step, so new layers at a fine-tuning rate would stay near zero"),
    flag("HfL2Norm", 0, "L2-normalise channels after each HF addition (public code variant)"),
    sequence_list_option("train"),
    Option("ValidationSequences", str, "train_vr_face5,train_hdtf_radio10",
           "comma-separated training clips held out for validation"),
    flag("TrainSynthetic", 1, "train on the clips of the sequence list marked 'synthetic: true' (outputs of "
         "face-animation models) as well as the real ones; 0 = real clips only"),
    Option("CacheDir", str, "work/train_cache", "cache of source / decoded base-layer pictures"),
    Option("IntraQP", int, 27, "QP of the IRAP key pictures of the training streams"),
    Option("TrainIntraPeriod", int, 100, "IRAP period of the training streams"),
    Option("BaseLayerQPs", str, "44,46,48,50", "base-layer QPs drawn per sample (key pictures at IntraQP)"),
    Option("BaseLayerQPPairs", str, "", "BaseLayerQP/IntraQP pairs drawn per sample, e.g. 50/37,44/32 (the CTC's "
           "points); when set, BaseLayerQPs and IntraQP are not used"),
    Option("StreamDir", str, "", "folder of the training clips' base-layer bitstreams: kept there when encoded, "
           "decoded from there when present (empty = not kept)"),
    Option("BaseLayerEncoder", str, "x265", "encoder of the training clips' base layers: x265, hm (HEVC), vvenc, vtm "
           "(VVC, BaseLayerCodec vvc), as EncoderApp's", choices=("x265", "hm", "vtm", "vvenc")),
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
    Option("MaxFramesPerClip", int, 250, "pictures used per clip"),
    Option("Steps", int, 4000, "total optimisation steps"),
    Option("CropSize", int, 0, "train on random crops of this size (a multiple of 64; 0 = whole pictures); "
           "validation always uses whole pictures"),
    Option("Precision", str, "fp32", "forward pass in fp32, or bf16 autocast", choices=("fp32", "bf16")),
    flag("FreezeDetector", 0, "keep the keypoint detector of InitModel fixed (its keypoints are computed once per "
         "clip; no equivariance loss)"),
    flag("FreezeBatchNorm", 0, "BatchNorm layers normalise with their running statistics during training "
         "(fine-tuning with small batches or crops)"),
    Option("DerivedKeypointShare", float, 0.0, "share of samples whose keypoints are detected on the decoded key and "
           "base-layer pictures (KeypointTransmission never), the rest on the source pictures (sent); "
           "needs FreezeDetector 1 when above 0"),
    Option("BatchSize", int, 4, "samples per step"),
    Option("LearningRate", float, 2e-4, "Adam learning rate"),
    Option("LrDecaySteps", str, "", "comma-separated steps at which the learning rate is multiplied by LrDecayFactor"),
    Option("LrDecayFactor", float, 0.1, "learning-rate decay factor"),
    Option("Seed", int, 1, "random seed"),
    Option("ColourJitter", float, 0.0, "colour augmentation: per sample and channel a gain in [1-j, 1+j] and an "
           "offset in [-j/2, j/2], the same for the sample's four pictures (0 = off; below 1)"),
    Option("ChannelPermute", float, 0.0, "colour augmentation: probability that a sample's R, G, B channels are "
           "permuted (one of the 5 other orders, the same for its four pictures)"),
    Option("BaseDropout", float, 0.25, "probability of zeroing the base-layer features"),
    Option("WeightL1", float, 1.0, "weight of the L1 pyramid (4 scales)"),
    Option("WeightMSE", float, 100.0, "MSE weight"),
    Option("WeightEdge", float, 1.0, "Laplacian edge L1 weight"),
    Option("WeightEquivariance", float, 10.0, "keypoint equivariance weight"),
    Option("WeightWarp", float, 0.0, "weight of the L1 between the key picture warped by the flow and the target "
           "(a direct training signal for the dense motion; 0 = off)"),
    Option("WeightGan", float, 0.0, "LSGAN + feature-matching weight (0 = off; multi-scale patch discriminator)"),
    Option("VggWeights", str, "", "local VGG19 state dict (torchvision names) for the perceptual loss; empty = off"),
    Option("Device", str, "cpu", "cpu or cuda", choices=("cpu", "cuda")),
    THREADS,
    flag("DataOnDevice", 0, "keep the training pictures on the Device and assemble batches there (GPU training; "
         "same samples as on the CPU)"),
    Option("PrepareJobs", int, 1, "processes that encode the training clips' base layers (first run only)"),
    Option("MaxMinutes", float, 0.0, "stop after this wall time (checkpoint and model are written); 0 = no limit"),
    flag("ChannelsLast", 1, "channels-last memory format (faster CPU convolutions)"),
    Option("OutputDir", str, "runs/train", "the run's state (state.safetensors), learning curve and log"),
    Option("OutputModel", str, "", "final model file (.safetensors); empty = OutputDir/model.safetensors"),
    Option("ModelName", str, "hdac_hf_small", "name stored in the model file"),
    Option("CheckpointEvery", int, 200, "steps between writes of the run's state"),
    Option("ValidateEvery", int, 500, "steps between validations (0 = never)"),
    Option("ValidationFrames", int, 8, "pictures per validation clip (0 = no validation)"),
    flag("Resume", 0, "continue the run in OutputDir (its state.safetensors) with the same recipe"),
    Option("InitModel", str, "", "model file whose weights start the training (fine-tuning); its architecture "
           "must equal NetworkConfig/HfFilter; empty = random initialisation"),
    flag("Progress", 1, "progress bar"),
]


def main(argv=None) -> int:
    return run_app("TrainerApp", OPTIONS, argv, run)


def run(cfg) -> int:
    import torch

    from Utilities.errors import ConfigError
    from CommonLib.generation.network_config import preset
    from CommonLib.network.model_file import save_model
    from Utilities.sequence_list import read_sequence_list
    from TrainingLib.trainer import Trainer, validate
    from TrainingLib.training_data import pair_name, parse_qp_pairs, prepare_clips

    if cfg.Threads:
        torch.set_num_threads(cfg.Threads)
    if cfg.Device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("Device cuda requested but no CUDA device is available")
    if cfg.BaseLayerQPPairs:
        pairs = parse_qp_pairs(cfg.BaseLayerQPPairs)
    else:
        pairs = [(cfg.IntraQP, q) for q in int_list("BaseLayerQPs", cfg.BaseLayerQPs)]
    int_list("LrDecaySteps", cfg.LrDecaySteps, allow_empty=True)
    if cfg.CropSize and (cfg.CropSize % 64 or cfg.CropSize < 64):
        raise ConfigError(f"CropSize {cfg.CropSize} is not a positive multiple of 64")
    if not 0 <= cfg.DerivedKeypointShare <= 1:
        raise ConfigError(f"DerivedKeypointShare {cfg.DerivedKeypointShare} is outside 0..1")
    if not 0 <= cfg.ColourJitter < 1:
        raise ConfigError(f"ColourJitter {cfg.ColourJitter} is outside 0..1 (1 excluded)")
    if not 0 <= cfg.ChannelPermute <= 1:
        raise ConfigError(f"ChannelPermute {cfg.ChannelPermute} is outside 0..1")
    if cfg.DerivedKeypointShare > 0 and not cfg.FreezeDetector:
        raise ConfigError("DerivedKeypointShare above 0 needs FreezeDetector 1 (keypoints of a fixed detector)")
    if cfg.FreezeDetector and not cfg.InitModel:
        raise ConfigError("FreezeDetector 1 needs InitModel (the model whose keypoint detector is kept)")
    net_cfg = preset(cfg.NetworkConfig, cfg.HfFilter)
    net_cfg.generator.hf_order = cfg.HfOrder
    net_cfg.generator.hf_l2norm = bool(cfg.HfL2Norm)
    net_cfg.dense_motion.base_input = bool(cfg.DenseMotionBase)
    net_cfg.generator.key_input = not cfg.PostFilter
    net_cfg.generator.base_skips = bool(cfg.BaseSkips)
    net_cfg.generator.refine_layers = cfg.RefineLayers
    net_cfg.generator.refine_channels = cfg.RefineChannels
    if net_cfg.generator.refine_problem():
        raise ConfigError(f"RefineLayers / RefineChannels: {net_cfg.generator.refine_problem()}")
    seqs = read_sequence_list(resolve_resource(cfg.SequenceList), "train")
    held = {s for s in cfg.ValidationSequences.split(",") if s}
    unknown = held - {s["name"] for s in seqs}
    if unknown:
        raise ConfigError(f"ValidationSequences {sorted(unknown)} are not training clips of the list")
    rank, world = _distributed(cfg)
    from EncoderLib.base_layer_settings import BaseLayerSettings
    base_layer = BaseLayerSettings(cfg.BaseLayerEncoder, cfg.BaseLayerCodec, x265_preset=cfg.X265Preset,
                                   x265_params=cfg.X265Params, hm_encoder=cfg.HmEncoder, hm_cfg=cfg.HmEncoderCfg,
                                   vtm_encoder=cfg.VtmEncoder, vtm_cfg=cfg.VtmEncoderCfg,
                                   vvenc_encoder=cfg.VvencEncoder, vvenc_preset=cfg.VvencPreset,
                                   vvenc_params=cfg.VvencParams, picture_hash=0)
    base_layer.check(cfg.TrainIntraPeriod)
    prep = dict(cache_dir=cfg.CacheDir, pairs=pairs, intra_period=cfg.TrainIntraPeriod,
                max_frames=cfg.MaxFramesPerClip, progress=bool(cfg.Progress) and rank == 0,
                jobs=max(1, cfg.PrepareJobs), base_layer=base_layer, stream_dir=cfg.StreamDir)
    if world > 1 and rank != 0:
        torch.distributed.barrier()                     # rank 0 fills the cache first
    train_seqs = [s for s in seqs if s["name"] not in held and (cfg.TrainSynthetic or not s.get("synthetic"))]
    if not train_seqs:
        raise ConfigError("no training clip is left (all are held out for validation or synthetic)")
    train_clips = prepare_clips(train_seqs, **prep)
    val_clips = prepare_clips([s for s in seqs if s["name"] in held], **prep)
    log = _logger(cfg, rank)
    small = [c.name for c in train_clips + val_clips if min(c.width, c.height) < cfg.CropSize]
    if small:
        raise ConfigError(f"CropSize {cfg.CropSize} exceeds the pictures of training clip {small[0]}")
    keypoints = None
    if cfg.FreezeDetector:
        from CommonLib.network.model_file import load_model
        from TrainingLib.keypoint_cache import KeypointCache
        init, _ = load_model(resolve_resource(cfg.InitModel))
        keypoints = KeypointCache(init.kp_detector, train_clips, pairs, cfg.CacheDir,
                                  derived=cfg.DerivedKeypointShare > 0, sent=cfg.DerivedKeypointShare < 1, log=log)
    if world > 1 and rank == 0:
        torch.distributed.barrier()
    log(f"TrainerApp: {len(train_clips)} training clips ({sum(len(c.source) for c in train_clips)} pictures), "
        f"{len(val_clips)} validation clips, QP pairs {', '.join(pair_name(p) for p in pairs)}, network "
        f"'{net_cfg.name}', HF filter {net_cfg.generator.hf_filter}, {world} process(es)")
    trainer = Trainer(cfg, net_cfg, train_clips, val_clips, pairs, log=log, keypoints=keypoints)
    if cfg.Resume:
        trainer.resume()
    stats = trainer.run()
    if world > 1:
        _check_ranks_agree(trainer, log)
    if rank != 0:
        torch.distributed.destroy_process_group()
        return 0
    final_val = validate(trainer.model, val_clips, trainer.validation_pairs(), cfg.ValidationFrames,
                         trainer.device, derived=cfg.DerivedKeypointShare > 0) \
        if cfg.ValidationFrames and val_clips else {}
    out = cfg.OutputModel or os.path.join(cfg.OutputDir, "model.safetensors")
    recipe = dict(trainer.recipe)
    samples = trainer.step * cfg.BatchSize * world
    digest = save_model(trainer.model.cpu(), out, cfg.ModelName,
                        extra={"training_recipe": recipe, "training_steps": trainer.step,
                               "training_samples": samples, "training_seconds": round(trainer.elapsed, 1),
                               "validation": final_val})
    from Utilities.files import write_json
    write_json(os.path.join(cfg.OutputDir, "training_log.json"), {"stats": stats, "final_validation": final_val,
               "model": out, "sha256": digest, "samples": samples}, "training log")
    log(f"TrainerApp: {trainer.step} steps ({samples} samples), {stats['samples_per_s']:.2f} samples/s this run; "
        f"model {out} sha256 {digest}")
    for p, r in final_val.items():
        log(f"TrainerApp: validation {p}: generated {r['gen_psnr_y']:.2f} dB / {r['gen_ms_ssim']:.4f}, "
            f"base layer {r['base_psnr_y']:.2f} dB / {r['base_ms_ssim']:.4f}")
    if world > 1:
        torch.distributed.destroy_process_group()
    return 0


def _distributed(cfg) -> tuple[int, int]:
    """(rank, world size); under torchrun (WORLD_SIZE > 1) the process group is initialised."""
    import torch
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    backend = "nccl" if cfg.Device == "cuda" else "gloo"
    torch.distributed.init_process_group(backend)
    if cfg.Device == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    return torch.distributed.get_rank(), world


def _check_ranks_agree(trainer, log) -> None:
    """Every rank must hold the same weights after DistributedDataParallel training. The BatchNorm statistics
    are rank 0's (DistributedDataParallel broadcasts them before every forward pass; the last pass updates
    each rank's own): they are broadcast first, then every tensor is compared."""
    import hashlib

    import torch
    from Utilities.errors import HdacError
    for b in trainer.model.buffers():
        torch.distributed.broadcast(b, 0)
    h = hashlib.sha256()
    for name, t in sorted(trainer.model.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    digests = [None] * torch.distributed.get_world_size()
    torch.distributed.all_gather_object(digests, h.hexdigest())
    if len(set(digests)) != 1:
        raise HdacError(f"the {len(digests)} processes hold different weights after training ({digests})")
    log(f"TrainerApp: all {len(digests)} processes hold identical weights (sha256 of the tensors {digests[0][:16]})")


def _logger(cfg, rank: int):
    """Prints (rank 0) and appends to OutputDir/train.log."""
    path = os.path.join(cfg.OutputDir, "train.log")

    def log(msg: str) -> None:
        if rank != 0:
            return
        print(msg, flush=True)
        os.makedirs(cfg.OutputDir, exist_ok=True)
        with open(path, "a") as f:
            f.write(msg + "\n")
    return log


if __name__ == "__main__":
    sys.exit(main())
