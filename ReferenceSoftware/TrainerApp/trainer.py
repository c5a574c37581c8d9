"""Training loop of the HDAC-HF / HDAC+ networks (brief section 3, adapted to a CPU).

Adam (lr 2e-4, betas 0.5/0.999), QP-weighted reconstruction loss, keypoint
equivariance, base-layer features dropped with probability ``base_dropout``
so that the same model decodes without a base layer, checkpoints with
``--Resume 1``, validation on held-out training clips (generated vs.
base-layer PSNR-Y / MS-SSIM).
"""
from __future__ import annotations

import json
import os
import time

import numpy as np
import torch
from tqdm import tqdm

from CommonLib.files import OutputFile, write_json
from CommonLib.metrics import ms_ssim_y, psnr_y
from CommonLib.network.hdac_hf import HdacHfModel
from CommonLib.network.model_file import load_model, save_model
from TrainerApp.losses import (PatchDiscriminator, Vgg19Features, equivariance_loss, lsgan_discriminator_loss,
                              lsgan_generator_loss, reconstruction_loss, vgg19_perceptual)
from TrainingLib.training_data import ClipCache, PairSampler, key_target_pairs


def to_uint8(x: torch.Tensor) -> np.ndarray:
    return (x.clamp(0, 1) * 255 + 0.5).to(torch.uint8).cpu().numpy()


@torch.no_grad()
def validate(model: HdacHfModel, clips: list[ClipCache], qps, frames: int, device) -> dict:
    """Mean PSNR-Y / MS-SSIM (Y) of generated and base-layer pictures on ``frames`` pictures per clip and QP."""
    model.eval()
    res = {}
    for qp in qps:
        g_p, b_p, g_s, b_s = [], [], [], []
        for c in clips:
            for s, t in key_target_pairs(c, frames):
                key, key_src, base, tgt = (torch.from_numpy(c.rgb(a, i)).float().unsqueeze(0).to(device) / 255
                                           for a, i in ((c.decoded[qp], s), (c.source, s), (c.decoded[qp], t), (c.source, t)))
                kp_key, kp_t = model.detect(key_src), model.detect(tgt)
                out = to_uint8(model.generate(key, base, kp_key, kp_t)[0])
                ref, bl = c.rgb(c.source, t), c.rgb(c.decoded[qp], t)
                g_p.append(psnr_y(out, ref)); b_p.append(psnr_y(bl, ref))
                g_s.append(ms_ssim_y(out, ref)); b_s.append(ms_ssim_y(bl, ref))
        res[qp] = {"gen_psnr_y": float(np.mean(g_p)), "base_psnr_y": float(np.mean(b_p)),
                   "gen_ms_ssim": float(np.mean(g_s)), "base_ms_ssim": float(np.mean(b_s))}
    model.train()
    return res


class Trainer:
    def __init__(self, cfg, net_cfg, train_clips, val_clips, qps, log=print):
        self.cfg, self.log = cfg, log
        self.device = torch.device(cfg.Device)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True      # fixed picture size: let cuDNN pick its fastest kernels
        torch.manual_seed(cfg.Seed)
        self.model = HdacHfModel(net_cfg).to(self.device).train()
        self.memory_format = torch.channels_last if cfg.ChannelsLast else torch.contiguous_format
        self.model = self.model.to(memory_format=self.memory_format)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=cfg.LearningRate, betas=(0.5, 0.999))
        if cfg.DataOnDevice:
            from TrainingLib.device_sampler import DevicePairSampler
            self.sampler = DevicePairSampler(train_clips, qps, cfg.Seed, self.device)
        else:
            self.sampler = PairSampler(train_clips, qps, cfg.Seed)
        self.val_clips, self.qps = val_clips, qps
        self.step = 0
        self.history = []
        self.vgg = Vgg19Features(cfg.VggWeights).to(self.device) if cfg.VggWeights else None
        self.disc = PatchDiscriminator().to(self.device) if cfg.WeightGan > 0 else None
        self.opt_d = torch.optim.Adam(self.disc.parameters(), lr=cfg.LearningRate, betas=(0.5, 0.999)) \
            if self.disc is not None else None
        self.lr_decay_steps = [int(v) for v in cfg.LrDecaySteps.split(",") if v.strip()]
        os.makedirs(cfg.OutputDir, exist_ok=True)
        self.ckpt_model = os.path.join(cfg.OutputDir, "checkpoint.safetensors")
        self.ckpt_state = os.path.join(cfg.OutputDir, "checkpoint_state.pt")
        self.ckpt_json = os.path.join(cfg.OutputDir, "checkpoint.json")

    # --- checkpoints ------------------------------------------------------------
    def save_checkpoint(self):
        save_model(self.model, self.ckpt_model, "checkpoint")
        state = {"optimizer": self.opt.state_dict(), "torch_rng": torch.get_rng_state()}
        if self.disc is not None:
            state["discriminator"], state["optimizer_d"] = self.disc.state_dict(), self.opt_d.state_dict()
        with OutputFile(self.ckpt_state, "wb", "checkpoint") as f:
            torch.save(state, f.f)
        write_json(self.ckpt_json, {"step": self.step, "numpy_rng": self.sampler.rng.bit_generator.state,
                                    "history": self.history}, "checkpoint record", indent=None)

    def init_from(self, path: str):
        """Start from the weights of a model file (fine-tuning); the architectures must be equal."""
        from CommonLib.errors import ConfigError
        model, _ = load_model(path)
        if model.cfg.to_dict() != self.model.cfg.to_dict():
            raise ConfigError(f"InitModel '{path}': its network configuration differs from NetworkConfig/HfFilter")
        self.model.load_state_dict(model.state_dict())
        self.model = self.model.to(memory_format=self.memory_format)
        self.log(f"weights initialised from {path}")

    def resume(self) -> bool:
        if not os.path.exists(self.ckpt_json):
            return False
        model, _ = load_model(self.ckpt_model)
        self.model.load_state_dict(model.state_dict())
        self.model = self.model.to(memory_format=self.memory_format)
        st = torch.load(self.ckpt_state, map_location=self.device, weights_only=True)
        self.opt.load_state_dict(st["optimizer"])
        torch.set_rng_state(st["torch_rng"])
        if self.disc is not None and "discriminator" in st:
            self.disc.load_state_dict(st["discriminator"])
            self.opt_d.load_state_dict(st["optimizer_d"])
        with open(self.ckpt_json) as f:
            js = json.load(f)
        self.step, self.history = js["step"], js["history"]
        self.sampler.rng.bit_generator.state = js["numpy_rng"]
        self.log(f"resumed from step {self.step}")
        return True

    # --- one step ---------------------------------------------------------------
    def learning_rate(self, step: int) -> float:
        """LearningRate x LrDecayFactor^(number of LrDecaySteps <= step)."""
        n = sum(step >= s for s in self.lr_decay_steps)
        return self.cfg.LearningRate * self.cfg.LrDecayFactor ** n

    def train_step(self):
        cfg = self.cfg
        for group in self.opt.param_groups + (self.opt_d.param_groups if self.opt_d is not None else []):
            group["lr"] = self.learning_rate(self.step)
        (key, key_src, base, target), lam = self.sampler.batch(cfg.BatchSize)
        key, key_src, base, target = (t.to(self.device).contiguous(memory_format=self.memory_format)
                                      for t in (key, key_src, base, target))
        lam = lam.to(self.device)
        b = key.shape[0]
        use_base = (torch.rand(b, device=self.device) >= cfg.BaseDropout).float()
        kp_det = self.model.kp_detector
        kp_key, kp_tgt = kp_det(key_src), kp_det(target)
        out, _, _ = self.model(key, base, kp_key, kp_tgt, use_base)
        rec = reconstruction_loss(out, target, lam, cfg.WeightMSE, cfg.WeightEdge, w_l1=cfg.WeightL1)
        eq = equivariance_loss(kp_det, target, kp_tgt) if cfg.WeightEquivariance else torch.zeros(())
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

    def run(self):
        cfg = self.cfg
        start = time.time()
        first = self.step
        bar = tqdm(total=cfg.Steps, initial=self.step, desc="train", disable=not cfg.Progress, dynamic_ncols=True)
        rec_avg = eq_avg = None
        while self.step < cfg.Steps:
            if cfg.MaxMinutes and time.time() - start > 60 * cfg.MaxMinutes:
                self.log(f"MaxMinutes {cfg.MaxMinutes} reached at step {self.step} of {cfg.Steps}")
                break
            rec, eq = self.train_step()
            rec_avg = rec if rec_avg is None else 0.98 * rec_avg + 0.02 * rec
            eq_avg = eq if eq_avg is None else 0.98 * eq_avg + 0.02 * eq
            bar.update(1)
            bar.set_postfix(rec=f"{rec_avg:.4f}", eq=f"{eq_avg:.4f}")
            if cfg.ValidateEvery and self.step % cfg.ValidateEvery == 0:
                v = validate(self.model, self.val_clips, self.qps[:: max(1, len(self.qps) - 1)],
                             cfg.ValidationFrames, self.device)
                self.history.append({"step": self.step, "loss": rec_avg, "val": v,
                                     "elapsed_s": time.time() - start})
                self.log(f"step {self.step}: " + "; ".join(
                    f"QP{qp} gen {r['gen_psnr_y']:.2f} dB / {r['gen_ms_ssim']:.4f} vs base "
                    f"{r['base_psnr_y']:.2f} dB / {r['base_ms_ssim']:.4f}" for qp, r in v.items()))
            if cfg.CheckpointEvery and self.step % cfg.CheckpointEvery == 0:
                self.save_checkpoint()
        bar.close()
        self.save_checkpoint()
        steps = self.step - first
        return {"steps_this_run": steps, "seconds": time.time() - start,
                "samples_per_s": steps * cfg.BatchSize / max(1e-9, time.time() - start)}
