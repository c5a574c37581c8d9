"""Training material that follows the deployed coding structure (brief section 3).

For every training clip the project's own base-layer encoder (the settings of
EncoderLib.base_layer_settings: by default EncoderApp's x265 settings) codes
the clip once per base-layer QP (44/46/48/50): IRAP key pictures at the
key-picture QP every ``intra_period`` pictures, low-delay P pictures at the
base-layer QP.
The decoded pictures and the source pictures are cached as 4:2:0 ``.npy``
files, so the encoding runs once. A training sample is

    key picture   = decoded IRAP picture s of the stream,
    key keypoints = detected on source picture s (as the encoder does),
    base layer    = decoded picture t of the same stream (s < t < next IRAP),
    target        = source picture t,

with the base-layer QP drawn per sample and the QP's loss weight lambda.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from CommonLib.base_layer_decoder import BaseLayerDecoder
from CommonLib.colour import yuv420_to_rgb
from CommonLib.errors import InputError
from CommonLib.files import OutputFile
from CommonLib.video_io import VideoReader, YuvPicture
from EncoderLib.base_layer_settings import BaseLayerSettings

QP_LOSS_WEIGHT = {50: 1.1, 48: 1.4, 46: 2.0, 44: 2.8}


@dataclass
class ClipCache:
    name: str
    source: np.ndarray             # (N, H*3/2, W) uint8, I420 planes
    decoded: dict                  # qp -> (N, H*3/2, W) uint8
    key_positions: np.ndarray      # IRAP indices
    width: int
    height: int

    def key_index(self, t: int) -> int:
        """The last IRAP picture at or before picture ``t`` (the key picture a decoder uses for ``t``)."""
        return int(self.key_positions[np.searchsorted(self.key_positions, t, side="right") - 1])

    def rgb(self, arr: np.ndarray, i: int) -> np.ndarray:
        return yuv420_to_rgb(*YuvPicture.from_packed(arr[i], self.width, self.height).planes())


def _save_npy(path: str, array: np.ndarray) -> None:
    with OutputFile(path, "wb", "training cache file") as f:
        np.save(f.f, array)


def prepare_clip(seq: dict, cache_dir: str, qps, intra_qp: int, intra_period: int, max_frames: int,
                 base_layer: BaseLayerSettings | None = None) -> ClipCache:
    """Encode / decode one clip at every QP (cached; the cache key includes the base-layer settings)."""
    base_layer = base_layer or BaseLayerSettings(picture_hash=0)
    key = json.dumps(base_layer.identity(), sort_keys=True)
    tag = hashlib.sha256(f"{seq['path']}|{intra_qp}|{intra_period}|{max_frames}|{key}".encode()).hexdigest()[:10]
    d = os.path.join(cache_dir, f"{seq['name']}_{tag}")
    os.makedirs(d, exist_ok=True)
    src_path = os.path.join(d, "source.npy")
    reader = VideoReader(seq["path"])
    w, h = reader.info.width, reader.info.height
    if not os.path.exists(src_path):
        frames = [p.packed().reshape(-1, w) for p in reader.frames(0, max_frames)]
        _save_npy(src_path, np.stack(frames))
    source = np.load(src_path, mmap_mode="r")
    decoded = {}
    for qp in qps:
        p = os.path.join(d, f"decoded_qp{qp}.npy")
        if not os.path.exists(p):
            enc = base_layer.create(w, h, reader.info.frame_rate, intra_qp, qp, intra_period, len(source))
            dec = BaseLayerDecoder(base_layer.codec)
            pics = []
            for i in range(len(source)):
                for au in enc.encode(YuvPicture.from_packed(source[i], w, h)):
                    pics += dec.decode(au)
            for au in enc.flush():
                pics += dec.decode(au)
            pics += dec.flush()
            if len(pics) != len(source):
                raise InputError(f"{seq['name']}: decoded {len(pics)} of {len(source)} pictures")
            _save_npy(p, np.stack([q.packed().reshape(-1, w) for q in pics]))
        decoded[qp] = np.load(p, mmap_mode="r")
    keys = np.arange(0, len(source), intra_period if intra_period > 0 else len(source))
    return ClipCache(seq["name"], source, decoded, keys, w, h)


def key_target_pairs(clip: ClipCache, count: int):
    """(key index, target index) of ``count`` targets evenly spaced over the clip; the key is the last IRAP
    picture at or before the target (targets that are key pictures themselves are skipped)."""
    for t in np.linspace(1, len(clip.source) - 1, count).astype(int):
        s = clip.key_index(int(t))
        if s != t:
            yield s, int(t)


def _prepare_only(args) -> str:
    prepare_clip(*args)
    return args[0]["name"]


def prepare_clips(seqs, cache_dir, qps, intra_qp, intra_period, max_frames, progress=True, jobs=1,
                  base_layer: BaseLayerSettings | None = None):
    """The cached clips; with ``jobs`` > 1 the missing encodings run in that many processes first."""
    if jobs > 1 and len(seqs) > 1:
        from concurrent.futures import ProcessPoolExecutor
        work = [(s, cache_dir, qps, intra_qp, intra_period, max_frames, base_layer) for s in seqs]
        with ProcessPoolExecutor(min(jobs, len(seqs))) as ex:
            list(tqdm(ex.map(_prepare_only, work), total=len(work), desc="base layers", disable=not progress))
    return [prepare_clip(s, cache_dir, qps, intra_qp, intra_period, max_frames, base_layer)
            for s in tqdm(seqs, desc="base layers", disable=not progress or jobs > 1)]


class PairSampler:
    """Draws (key, key source, base layer, target, lambda, qp) training samples."""

    def __init__(self, clips: list[ClipCache], qps, seed: int, flip: bool = True):
        self.clips, self.qps = clips, list(qps)
        self.rng = np.random.default_rng(seed)
        self.flip = flip
        self.weights = np.array([len(c.source) for c in clips], np.float64)
        self.weights /= self.weights.sum()

    def draw(self):
        """(clip index, key index s, target index t, qp, flip) of the next sample."""
        ci = int(self.rng.choice(len(self.clips), p=self.weights))
        c = self.clips[ci]
        n = len(c.source)
        while True:
            t = int(self.rng.integers(1, n))
            s = c.key_index(t)
            if s != t:
                break
        qp = self.qps[int(self.rng.integers(len(self.qps)))]
        flip = bool(self.flip and self.rng.random() < 0.5)
        return ci, s, t, qp, flip

    def sample(self):
        ci, s, t, qp, flip = self.draw()
        c = self.clips[ci]
        pics = [c.rgb(c.decoded[qp], s), c.rgb(c.source, s), c.rgb(c.decoded[qp], t), c.rgb(c.source, t)]
        if flip:
            pics = [p[:, :, ::-1] for p in pics]
        return [np.ascontiguousarray(p) for p in pics], QP_LOSS_WEIGHT.get(qp, 1.0), qp

    def batch(self, size: int):
        import torch
        items = [self.sample() for _ in range(size)]
        stack = [torch.from_numpy(np.stack([it[0][j] for it in items])).float() / 255.0 for j in range(4)]
        lam = torch.tensor([it[1] for it in items], dtype=torch.float32)
        return stack, lam
