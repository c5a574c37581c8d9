"""Training loop of the HDAC-HF / HDAC+ networks (brief section 3, adapted to a CPU; doc/software_manual.md,
TrainerApp).

Adam (betas 0.5/0.999), QP-weighted reconstruction loss, keypoint equivariance (when the detector is
trained), base-layer features dropped with probability ``BaseDropout`` so that the same model decodes
without a base layer. Samples are crops of ``CropSize`` (the networks are convolutional; validation uses
whole pictures), assembled by a background thread while the previous step runs; ``Precision bf16`` runs
the forward pass under CPU/CUDA autocast. With a frozen keypoint detector its keypoints are computed once
per clip (TrainingLib.keypoint_cache), from the decoded pictures as a decoder derives them, or from the
source pictures as an encoder sends them.

The run's state (TrainingLib.run_state) is written every ``CheckpointEvery`` steps, at the end, and on
SIGINT / SIGTERM; ``Resume 1`` continues it on any machine. Under ``torchrun`` the model is wrapped in
DistributedDataParallel (gloo on the CPU, NCCL on CUDA): each rank draws its own samples (seed + rank),
gradients are averaged, rank 0 validates and writes.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from tqdm import tqdm

from Utilities.errors import ConfigError
from Utilities.files import write_json
from Utilities.metrics import ms_ssim_y, psnr_y
from CommonLib.network.hdac_hf import HdacHfModel
from CommonLib.network.model_file import load_model
from TrainingLib.losses import (PatchDiscriminator, Vgg19Features, equivariance_loss, lsgan_discriminator_loss,
                                lsgan_generator_loss, reconstruction_loss, vgg19_perceptual, warp_loss)
from TrainingLib.run_state import (STATE_FILE, load_state, part_tensors, recipe_differences, restore_optimizer,
                                   save_state)
from TrainingLib.training_data import ClipCache, PairSampler, key_target_pairs, pair_name, variance_scale

#: options that may change between the slices of one run (everything else is the run's recipe)
FREE_OPTIONS = {"Steps", "MaxMinutes", "Threads", "Progress", "CheckpointEvery", "Resume", "PrepareJobs", "CacheDir",
                "StreamDir", "Device", "DataOnDevice", "OutputModel", "OutputDir", "ValidateEvery",
                "ValidationFrames", "LrDecaySteps", "LrDecayFactor"}


def to_uint8(x: torch.Tensor) -> np.ndarray:
    return (x.clamp(0, 1) * 255 + 0.5).to(torch.uint8).cpu().numpy()


def _tensor(a: np.ndarray, device) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a)).float().unsqueeze(0).to(device) / 255


@torch.no_grad()
def validate(model: HdacHfModel, clips: list[ClipCache], pairs, frames: int, device, derived: bool = False) -> dict:
    """Mean PSNR-Y / MS-SSIM (Y) of generated and base-layer pictures, and PSNR-Y of the decoded key picture as
    it is and warped by the flow (how well the motion aligns it), on whole pictures, ``frames`` targets per clip
    and QP pair; keypoints derived from the decoded key and base-layer pictures (``derived``) or detected on
    the source pictures. Keys: 'QP/IntraQP'."""
    from CommonLib.network.blocks import warp
    model.eval()
    res = {}
    for pair in pairs:
        g_p, b_p, g_s, b_s, w_p, k_p = [], [], [], [], [], []
        for c in clips:
            dec = c.decoded[tuple(pair)]
            for s, t in key_target_pairs(c, frames):
                key, base = _tensor(c.rgb(dec, s), device), _tensor(c.rgb(dec, t), device)
                if derived:
                    kp_key, kp_t = model.detect(key), model.detect(base)
                else:
                    kp_key, kp_t = model.detect(_tensor(c.rgb(c.source, s), device)), \
                        model.detect(_tensor(c.rgb(c.source, t), device))
                gen, flow, _ = model(key, base, kp_key, kp_t)
                out = to_uint8(gen[0])
                ref, bl = c.rgb(c.source, t), c.rgb(dec, t)
                w_p.append(psnr_y(to_uint8(warp(key, flow)[0]), ref))
                k_p.append(psnr_y(c.rgb(dec, s), ref))
                g_p.append(psnr_y(out, ref)); b_p.append(psnr_y(bl, ref))
                g_s.append(ms_ssim_y(out, ref)); b_s.append(ms_ssim_y(bl, ref))
        res[pair_name(pair)] = {"gen_psnr_y": float(np.mean(g_p)), "base_psnr_y": float(np.mean(b_p)),
                                "gen_ms_ssim": float(np.mean(g_s)), "base_ms_ssim": float(np.mean(b_s)),
                                "gain_psnr_y": float(np.mean(g_p) - np.mean(b_p)),
                                "warped_key_psnr_y": float(np.mean(w_p)), "key_psnr_y": float(np.mean(k_p))}
    return res


def widen_for_base_input(state_dict: dict) -> dict:
    """The tensors of a model without ``dense_motion.base_input`` made into those of one with it: the
    convolutions that see the hourglass input (its first down block; the mask and occlusion convolutions, which
    see the input concatenated to the hourglass output) get zero weights for the 3 base-layer channels, so the
    widened network computes exactly what the original does, and training starts from it."""
    sd = dict(state_dict)
    for name in ("dense_motion.hourglass.down_blocks.0.conv.weight", "dense_motion.mask.weight",
                 "dense_motion.occlusion.weight"):
        w = sd[name]
        sd[name] = torch.cat([w, torch.zeros(w.shape[0], 3, *w.shape[2:], dtype=w.dtype)], 1)
    return sd


def recipe_of(cfg, init_sha256: str) -> dict:
    rec = {k: v for k, v in cfg.as_dict().items() if k not in FREE_OPTIONS}
    rec["InitModelSha256"] = init_sha256
    return rec


class Trainer:
    def __init__(self, cfg, net_cfg, train_clips, val_clips, pairs, log=print, keypoints=None):
        self.cfg, self.log = cfg, log
        self.device = torch.device(cfg.Device)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True      # fixed picture size: let cuDNN pick its fastest kernels
        self.world, self.rank = 1, 0
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            self.world, self.rank = torch.distributed.get_world_size(), torch.distributed.get_rank()
        torch.manual_seed(cfg.Seed)
        self.model = HdacHfModel(net_cfg).to(self.device)
        self.init_sha256 = ""
        self.new_tensors = set()
        if cfg.InitModel:
            self._init_from(cfg.InitModel)
        if cfg.FreezeDetector:
            for p in self.model.kp_detector.parameters():
                p.requires_grad_(False)
        self.memory_format = torch.channels_last if cfg.ChannelsLast else torch.contiguous_format
        self.model = self.model.to(memory_format=self.memory_format)
        self.set_train_mode()
        self.names = {id(p): n for n, p in self.model.named_parameters()}
        trained = [(n, p) for n, p in self.model.named_parameters() if p.requires_grad]
        new = [p for n, p in trained if n in self.new_tensors]
        groups = [{"params": [p for n, p in trained if n not in self.new_tensors], "lr_scale": 1.0}]
        if new:                                   # tensors InitModel lacks (zero at first) learn NewTensorLrScale x faster
            groups.append({"params": new, "lr_scale": cfg.NewTensorLrScale})
        self.opt = torch.optim.Adam(groups, lr=cfg.LearningRate, betas=(0.5, 0.999))
        self.ddp = None
        if self.world > 1:
            from torch.nn.parallel import DistributedDataParallel
            self.ddp = DistributedDataParallel(self.model, device_ids=[self.device.index]
                                               if self.device.type == "cuda" else None)
        seed = cfg.Seed + 1000003 * self.rank
        sampler_args = dict(crop=cfg.CropSize, derived_share=cfg.DerivedKeypointShare, keypoints=keypoints,
                            colour_jitter=cfg.ColourJitter, channel_permute=cfg.ChannelPermute)
        if cfg.DataOnDevice:
            from TrainingLib.device_sampler import DevicePairSampler
            self.sampler = DevicePairSampler(train_clips, pairs, seed, self.device, **sampler_args)
        else:
            self.sampler = PairSampler(train_clips, pairs, seed, **sampler_args)
        c0 = train_clips[0]
        self.var_scale = variance_scale(c0.width, cfg.CropSize)
        self.val_clips, self.pairs = val_clips, pairs
        self.step, self.elapsed = 0, 0.0
        self.history = []
        self.vgg = Vgg19Features(cfg.VggWeights).to(self.device) if cfg.VggWeights else None
        self.disc = PatchDiscriminator().to(self.device) if cfg.WeightGan > 0 else None
        self.opt_d = torch.optim.Adam(self.disc.parameters(), lr=cfg.LearningRate, betas=(0.5, 0.999)) \
            if self.disc is not None else None
        self.lr_decay_steps = [int(v) for v in cfg.LrDecaySteps.split(",") if v.strip()]
        os.makedirs(cfg.OutputDir, exist_ok=True)
        self.state_path = os.path.join(cfg.OutputDir, STATE_FILE)
        self.curve_path = os.path.join(cfg.OutputDir, "curve.json")
        self.recipe = recipe_of(cfg, self.init_sha256)
        self.stop_signal = None

    # --- initialisation, state ------------------------------------------------------
    def set_train_mode(self):
        """Training mode; with FreezeBatchNorm 1 the BatchNorm layers keep normalising with their running
        statistics (those the integer process folds), a frozen detector stays in evaluation mode."""
        self.model.train()
        for m in self.model.modules():
            if self.cfg.FreezeBatchNorm and isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.eval()
        if self.cfg.FreezeDetector:
            self.model.kp_detector.eval()

    def _init_from(self, path: str):
        """Start from the weights of a model file (fine-tuning); the architectures must be equal."""
        from Utilities.app_config import resolve_resource
        model, meta = load_model(resolve_resource(path))
        mine, theirs = self.model.cfg.to_dict(), model.cfg.to_dict()
        sd = model.state_dict()
        if mine["dense_motion"]["base_input"] and not theirs["dense_motion"]["base_input"]:
            sd = widen_for_base_input(sd)
            theirs["dense_motion"]["base_input"] = True
        if mine["generator"]["base_skips"] and not theirs["generator"]["base_skips"]:
            sd = dict(sd)                                     # S_l = 0: the same function as InitModel's at first
            for name, t in self.model.state_dict().items():
                if name.startswith("generator.base_skip."):
                    sd[name] = torch.zeros_like(t)
                    self.new_tensors.add(name)
            theirs["generator"]["base_skips"] = True
        if mine["generator"]["refine_layers"] and not theirs["generator"]["refine_layers"]:
            sd = dict(sd)                                     # R's last convolution is zero: P + R(P) = P at first
            for name, t in self.model.state_dict().items():
                if name.startswith("generator.refine."):
                    sd[name] = t.clone()
                    self.new_tensors.add(name)
            for k in ("refine_layers", "refine_channels"):
                theirs["generator"][k] = mine["generator"][k]
        if not mine["generator"]["key_input"] and theirs["generator"]["key_input"]:
            theirs["generator"]["key_input"] = False          # the post-filter ablation starts from the same tensors
        if mine != theirs:
            raise ConfigError(f"InitModel '{path}': its network configuration differs from NetworkConfig/HfFilter")
        self.model.load_state_dict(sd)
        self.init_sha256 = meta["sha256"]
        self.log(f"weights initialised from {path} (sha256 {meta['sha256']})")

    def _stored_tensors(self) -> dict:
        sd = self.model.state_dict()
        if self.cfg.FreezeDetector:
            sd = {k: v for k, v in sd.items() if not k.startswith("kp_detector.")}
        return sd

    def save_state(self):
        rngs = self._gather_rng()                   # a collective: every rank takes part
        if self.rank != 0:
            return
        parts = [("model", self._stored_tensors(), self.opt, self.names)]
        if self.disc is not None:
            parts.append(("disc", self.disc.state_dict(), self.opt_d,
                          {id(p): n for n, p in self.disc.named_parameters()}))
        save_state(self.state_path, parts, {"recipe": self.recipe, "step": self.step,
                                            "samples": self.step * self.cfg.BatchSize * self.world,
                                            "numpy_rng": rngs, "elapsed_s": self.elapsed, "world_size": self.world})
        write_json(self.curve_path, {"recipe": self.recipe, "curve": self.history}, "learning curve")

    def _gather_rng(self):
        state = self.sampler.pending_rng_state()
        if self.world == 1:
            return [state]
        out = [None] * self.world
        torch.distributed.all_gather_object(out, state)
        return out

    def resume(self) -> bool:
        """Continue the run of OutputDir (its state file must exist: a missing one is an error)."""
        tensors, meta = load_state(self.state_path)
        diff = recipe_differences(meta["recipe"], self.recipe, self.cfg.defaults())
        if diff:
            raise ConfigError(f"the run in '{self.cfg.OutputDir}' has another recipe ({'; '.join(diff[:3])}"
                              f"{' ...' if len(diff) > 3 else ''}): resume with its options or use a new OutputDir")
        if len(meta["numpy_rng"]) != self.world:
            raise ConfigError(f"the run in '{self.cfg.OutputDir}' was trained with {len(meta['numpy_rng'])} "
                              f"process(es); resume it with as many (now {self.world})")
        sd = part_tensors(tensors, "model")
        missing, unexpected = self.model.load_state_dict(sd, strict=False)
        if self.cfg.FreezeDetector:
            missing = [k for k in missing if not k.startswith("kp_detector.")]
        if missing or unexpected:
            raise ConfigError(f"training state '{self.state_path}' does not fit the network "
                              f"(missing {missing[:2]}, unexpected {unexpected[:2]})")
        self.model = self.model.to(memory_format=self.memory_format)
        restore_optimizer(self.opt, tensors, "model", self.names)
        if self.disc is not None:
            self.disc.load_state_dict(part_tensors(tensors, "disc"))
            restore_optimizer(self.opt_d, tensors, "disc", {id(p): n for n, p in self.disc.named_parameters()})
        torch.set_rng_state(tensors["rng.torch"])
        self.step, self.elapsed = int(meta["step"]), float(meta.get("elapsed_s", 0.0))
        self.sampler.rng.bit_generator.state = meta["numpy_rng"][self.rank]
        if os.path.exists(self.curve_path):
            with open(self.curve_path) as f:
                self.history = json.load(f)["curve"]
            self.history = [h for h in self.history if h["step"] <= self.step]
        self.log(f"resumed from step {self.step} ({self.step * self.cfg.BatchSize * self.world} samples)")
        return True

    # --- one step ---------------------------------------------------------------
    def learning_rate(self, step: int) -> float:
        """LearningRate x LrDecayFactor^(number of LrDecaySteps <= step)."""
        n = sum(step >= s for s in self.lr_decay_steps)
        return self.cfg.LearningRate * self.cfg.LrDecayFactor ** n

    def autocast(self):
        if self.cfg.Precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def train_step(self, batch):
        cfg = self.cfg
        for group in self.opt.param_groups + (self.opt_d.param_groups if self.opt_d is not None else []):
            group["lr"] = self.learning_rate(self.step) * group.get("lr_scale", 1.0)
        (key, key_src, base, target), lam, kps = batch
        key, key_src, base, target = (t.to(self.device).contiguous(memory_format=self.memory_format)
                                      for t in (key, key_src, base, target))
        lam = lam.to(self.device)
        b = key.shape[0]
        use_base = (torch.rand(b, device=self.device) >= cfg.BaseDropout).float()
        kp_det = self.model.kp_detector
        net = self.ddp or self.model
        with self.autocast():
            if kps is None:
                kp_key, kp_tgt = kp_det(key_src), kp_det(target)
            else:
                kp_key, kp_tgt = (k.to(self.device) for k in kps)
            out, flow, _ = net(key, base, kp_key, kp_tgt, use_base, self.var_scale)
        out = out.float()
        rec = reconstruction_loss(out, target, lam, cfg.WeightMSE, cfg.WeightEdge, w_l1=cfg.WeightL1)
        if cfg.WeightWarp:
            rec = rec + cfg.WeightWarp * warp_loss(key, flow.float(), target)
        eq = equivariance_loss(kp_det, target, kp_tgt) if cfg.WeightEquivariance and not cfg.FreezeDetector \
            else torch.zeros((), device=self.device)
        loss = rec + cfg.WeightEquivariance * eq
        if self.vgg is not None:
            loss = loss + (lam.mean() * vgg19_perceptual(self.vgg, out, target))
        if self.disc is not None:
            loss = loss + cfg.WeightGan * lsgan_generator_loss(self.disc, out, target)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        if self.disc is not None:
            self.opt_d.zero_grad(set_to_none=True)
            lsgan_discriminator_loss(self.disc, out, target).backward()
            self.opt_d.step()
        self.step += 1
        return float(rec.detach()), float(eq.detach())

    def _on_signal(self, signum, frame):
        self.stop_signal = signal.Signals(signum).name

    def validation_point(self, rec_avg) -> dict:
        v = {"sent": validate(self.model, self.val_clips, self.validation_pairs(), self.cfg.ValidationFrames,
                              self.device)}
        if self.cfg.DerivedKeypointShare > 0:
            v["derived"] = validate(self.model, self.val_clips, self.validation_pairs(), self.cfg.ValidationFrames,
                                    self.device, derived=True)
        point = {"step": self.step, "samples": self.step * self.cfg.BatchSize * self.world, "loss": rec_avg,
                 "learning_rate": self.learning_rate(self.step),
                 "val": v, "elapsed_s": self.elapsed}
        self.history.append(point)
        self.log(f"step {self.step} ({point['samples']} samples): " + "; ".join(
            f"{mode} {p}: gen {r['gen_psnr_y']:.2f} dB ({r['gain_psnr_y']:+.3f}) / {r['gen_ms_ssim']:.4f} vs base "
            f"{r['base_psnr_y']:.2f} dB / {r['base_ms_ssim']:.4f}" for mode, vv in v.items() for p, r in vv.items()))
        return point

    def validation_pairs(self):
        """The QP pairs of the learning curve: the lowest and the highest base-layer QP of the run."""
        ps = sorted(self.pairs, key=lambda p: (p[1], p[0]))
        return [ps[0]] if len(ps) == 1 else [ps[0], ps[-1]]

    def run(self):
        cfg = self.cfg
        start = time.time()
        first = self.step
        handlers = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                handlers[sig] = signal.signal(sig, self._on_signal)
            except ValueError:          # not the main thread (tests)
                pass
        bar = tqdm(total=cfg.Steps, initial=self.step, desc="train", disable=not cfg.Progress or self.rank != 0,
                   dynamic_ncols=True)
        rec_avg = eq_avg = None
        validating = self.rank == 0 and cfg.ValidateEvery and cfg.ValidationFrames and self.val_clips
        if validating and not any(h["step"] == self.step for h in self.history):
            self.validation_point(rec_avg)
        self.set_train_mode()
        pool = ThreadPoolExecutor(1)
        pending = self.sampler.prefetch(pool, cfg.BatchSize) if self.step < cfg.Steps else None
        stopped = ""
        try:
            while self.step < cfg.Steps:
                if cfg.MaxMinutes and time.time() - start > 60 * cfg.MaxMinutes:
                    stopped = f"MaxMinutes {cfg.MaxMinutes} reached at step {self.step} of {cfg.Steps}"
                    break
                if self.stop_signal:
                    stopped = f"{self.stop_signal} received at step {self.step} of {cfg.Steps}"
                    break
                t0 = time.time()
                batch = pending.result()
                self.sampler.consumed()
                pending = self.sampler.prefetch(pool, cfg.BatchSize) if self.step + 1 < cfg.Steps else None
                rec, eq = self.train_step(batch)
                self.elapsed += time.time() - t0
                rec_avg = rec if rec_avg is None else 0.98 * rec_avg + 0.02 * rec
                eq_avg = eq if eq_avg is None else 0.98 * eq_avg + 0.02 * eq
                bar.update(1)
                bar.set_postfix(rec=f"{rec_avg:.4f}", eq=f"{eq_avg:.4f}")
                if validating and self.step % cfg.ValidateEvery == 0:
                    self.validation_point(rec_avg)
                    self.set_train_mode()
                if cfg.CheckpointEvery and self.step % cfg.CheckpointEvery == 0:
                    self.save_state()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            for sig, h in handlers.items():
                signal.signal(sig, h)
        bar.close()
        if stopped:
            self.log(stopped + "; state saved")
        self.save_state()
        steps = self.step - first
        seconds = time.time() - start
        return {"steps_this_run": steps, "seconds": seconds, "stopped": stopped,
                "samples_per_s": steps * cfg.BatchSize * self.world / max(1e-9, seconds)}
