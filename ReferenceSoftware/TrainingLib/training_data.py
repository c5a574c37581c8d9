"""Training material that follows the deployed coding structure (brief section 3).

For every training clip the project's own base-layer encoder (the settings of
EncoderLib.base_layer_settings: by default EncoderApp's x265 settings) codes
the clip once per QP pair (IntraQP, BaseLayerQP): IRAP key pictures at the
pair's IntraQP every ``intra_period`` pictures, low-delay P pictures at its
BaseLayerQP. The decoded pictures and the source pictures are cached as 4:2:0
``.npy`` files, and the bitstreams can be kept (``stream_dir``), so the
encoding runs once. A training sample is

    key picture   = decoded IRAP picture s of the stream,
    key keypoints = detected on source picture s (sent), or on the decoded key picture (derived),
    base layer    = decoded picture t of the same stream (s < t < next IRAP),
    target        = source picture t,

with the QP pair drawn per sample and its loss weight lambda (``qp_loss_weight``).
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from CommonLib.generation.base_layer_decoder import BaseLayerDecoder
from Utilities.colour import yuv420_to_rgb
from Utilities.errors import InputError
from Utilities.files import OutputFile
from Utilities.video_io import VideoReader, YuvPicture
from EncoderLib.base_layer_settings import BaseLayerSettings

QP_LOSS_WEIGHT = {50: 1.1, 48: 1.4, 46: 2.0, 44: 2.8}

def qp_loss_weight(qp: int) -> float:
    """lambda(QP) of the reconstruction loss: the table above, else 1.1 x 2^((50 - QP) / 4.5) (the table's trend)."""
    return QP_LOSS_WEIGHT.get(qp, 1.1 * 2 ** ((50 - qp) / 4.5))


def parse_qp_pairs(text: str, option: str = "BaseLayerQPPairs") -> list:
    """'50/37,44/32' -> [(37, 50), (32, 44)] (BaseLayerQP/IntraQP, as the CTC names its points)."""
    from Utilities.errors import ConfigError
    pairs = []
    for item in (t.strip() for t in text.split(",")):
        if not item:
            continue
        parts = item.split("/")
        if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
            raise ConfigError(f"{option}: '{item}' is not BaseLayerQP/IntraQP")
        qp, iqp = int(parts[0]), int(parts[1])
        if not (0 <= iqp <= qp <= 51):
            raise ConfigError(f"{option}: '{item}' needs 0 <= IntraQP <= BaseLayerQP <= 51")
        pairs.append((iqp, qp))
    if not pairs or len(set(pairs)) != len(pairs):
        raise ConfigError(f"{option}: '{text}' is empty or repeats a pair")
    return pairs


def pair_name(pair) -> str:
    return f"{pair[1]}/{pair[0]}"


@dataclass
class ClipCache:
    name: str
    source: np.ndarray             # (N, H*3/2, W) uint8, I420 planes
    decoded: dict                  # (intra_qp, qp) -> (N, H*3/2, W) uint8
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


def settings_tag(base_layer: BaseLayerSettings, intra_period: int, max_frames: int) -> str:
    """Ten hex digits naming the base-layer settings, IRAP period and clip length of training streams."""
    key = json.dumps(base_layer.identity(), sort_keys=True)
    return hashlib.sha256(f"{intra_period}|{max_frames}|{key}".encode()).hexdigest()[:10]


def stream_path(stream_dir: str, seq: dict, pair, tag: str, codec: str = "hevc") -> str:
    """Where the base-layer bitstream of ``seq`` at ``pair`` is kept (``StreamDir``; Annex-B, extension the codec)."""
    return os.path.join(stream_dir, tag, f"{seq['name']}_q{pair[1]}_i{pair[0]}.{codec}")


def _decode_stream(data: bytes, codec: str) -> list:
    from CommonLib.syntax.access_units import split_access_units
    dec = BaseLayerDecoder(codec)
    pics = []
    for au in split_access_units(data, codec):
        pics += dec.decode(au.annexb())
    return pics + dec.flush()


def prepare_clip(seq: dict, cache_dir: str, pairs, intra_period: int, max_frames: int,
                 base_layer: BaseLayerSettings | None = None, stream_dir: str = "") -> ClipCache:
    """Encode / decode one clip at every (IntraQP, BaseLayerQP) pair, cached as 4:2:0 arrays.

    The cache key includes the base-layer settings. With ``stream_dir`` the base-layer bitstreams are kept
    there (and only decoded when they exist: a new machine rebuilds the cache in minutes)."""
    base_layer = base_layer or BaseLayerSettings(picture_hash=0)
    tag = settings_tag(base_layer, intra_period, max_frames)
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
    for pair in pairs:
        iqp, qp = pair
        p = os.path.join(d, f"decoded_q{qp}_i{iqp}.npy")
        if not os.path.exists(p):
            sp = stream_path(stream_dir, seq, pair, tag, base_layer.codec) if stream_dir else ""
            if sp and os.path.exists(sp):
                with open(sp, "rb") as f:
                    pics = _decode_stream(f.read(), base_layer.codec)
                where = sp
            else:
                enc = base_layer.create(w, h, reader.info.frame_rate, iqp, qp, intra_period, len(source))
                dec = BaseLayerDecoder(base_layer.codec)
                pics, stream = [], bytearray()
                for i in range(len(source)):
                    for au in enc.encode(YuvPicture.from_packed(source[i], w, h)):
                        stream += au
                        pics += dec.decode(au)
                for au in enc.flush():
                    stream += au
                    pics += dec.decode(au)
                pics += dec.flush()
                where = "its encoder"
                if sp and len(pics) == len(source):
                    os.makedirs(os.path.dirname(sp), exist_ok=True)
                    with OutputFile(sp, "wb", "training base-layer stream") as f:
                        f.f.write(bytes(stream))
            if len(pics) != len(source):
                raise InputError(f"{seq['name']}: decoded {len(pics)} of {len(source)} pictures of the base layer "
                                 f"at {pair_name(pair)} (from {where})")
            _save_npy(p, np.stack([q.packed().reshape(-1, w) for q in pics]))
        decoded[pair] = np.load(p, mmap_mode="r")
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


def prepare_clips(seqs, cache_dir, pairs, intra_period, max_frames, progress=True, jobs=1,
                  base_layer: BaseLayerSettings | None = None, stream_dir: str = ""):
    """The cached clips; with ``jobs`` > 1 the missing encodings run in that many processes first."""
    if jobs > 1 and len(seqs) > 1:
        from concurrent.futures import ProcessPoolExecutor
        work = [(s, cache_dir, pairs, intra_period, max_frames, base_layer, stream_dir) for s in seqs]
        with ProcessPoolExecutor(min(jobs, len(seqs))) as ex:
            list(tqdm(ex.map(_prepare_only, work), total=len(work), desc="base layers", disable=not progress))
    return [prepare_clip(s, cache_dir, pairs, intra_period, max_frames, base_layer, stream_dir)
            for s in tqdm(seqs, desc="base layers", disable=not progress or jobs > 1)]


@dataclass
class Draw:
    """One training sample: clip, key picture s, target t, QP pair, mirror, crop origin, keypoint source, and
    the colour transform of its four pictures (``ColourTransform``; None = the pictures as they are)."""
    clip: int
    s: int
    t: int
    pair: tuple
    flip: bool
    y0: int
    x0: int
    derived: bool
    colour: "ColourTransform | None" = None


@dataclass
class ColourTransform:
    """x'_c = clip(gain_c x_perm[c] + offset_c, 0, 1) for c in R, G, B, the same for the four pictures of a
    sample (key, key source, base layer, target): a face of another skin tone, light or white balance that keeps
    the sample's geometry and motion, so that a network cannot tell the training people apart by colour."""
    perm: tuple                  # source channel of R, G, B
    gain: tuple
    offset: tuple

    def apply(self, x):
        """``x``: (B, 3, H, W) float in [0, 1] (one picture of each of B samples with this transform)."""
        import torch
        g = torch.tensor(self.gain, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        o = torch.tensor(self.offset, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        return (x[:, list(self.perm)] * g + o).clamp(0, 1)


class PairSampler:
    """Draws training samples: (key = decoded s, key source = source s, base layer = decoded t, target = source t)
    of one clip at one QP pair, mirrored at random, cropped to ``crop`` x ``crop`` at a random origin on the
    4-sample grid of the dense motion (0 = whole pictures), with keypoints derived from the decoded pictures
    with probability ``derived_share`` (the decoder's ``KeypointTransmission never``) and otherwise from the
    source pictures (keypoints sent).

    Colour augmentation (``colour_jitter`` > 0 or ``channel_permute`` > 0): each sample's pictures get one
    ``ColourTransform``: gains drawn in [1 - j, 1 + j] and offsets in [-j/2, +j/2] per channel (j =
    ``colour_jitter``), and with probability ``channel_permute`` a random permutation of R, G, B other than the
    identity. Without it the draws use the random generator exactly as before (runs resume identically)."""

    def __init__(self, clips: list[ClipCache], pairs, seed: int, flip: bool = True, crop: int = 0,
                 derived_share: float = 0.0, keypoints=None, colour_jitter: float = 0.0,
                 channel_permute: float = 0.0):
        self.clips, self.pairs = clips, [tuple(p) for p in pairs]
        self.rng = np.random.default_rng(seed)
        self.flip, self.crop, self.derived_share = flip, crop, derived_share
        self.colour_jitter, self.channel_permute = colour_jitter, channel_permute
        self.keypoints = keypoints           # TrainingLib.keypoint_cache.KeypointCache or None
        self.weights = np.array([len(c.source) for c in clips], np.float64)
        self.weights /= self.weights.sum()

    def draw(self) -> Draw:
        ci = int(self.rng.choice(len(self.clips), p=self.weights))
        c = self.clips[ci]
        n = len(c.source)
        while True:
            t = int(self.rng.integers(1, n))
            s = c.key_index(t)
            if s != t:
                break
        pair = self.pairs[int(self.rng.integers(len(self.pairs)))]
        flip = bool(self.flip and self.rng.random() < 0.5)
        y0 = x0 = 0
        if self.crop:
            y0 = 4 * int(self.rng.integers(0, (c.height - self.crop) // 4 + 1))
            x0 = 4 * int(self.rng.integers(0, (c.width - self.crop) // 4 + 1))
        derived = bool(self.derived_share and self.rng.random() < self.derived_share)
        return Draw(ci, s, t, pair, flip, y0, x0, derived, self._colour())

    _PERMUTATIONS = ((0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0))     # all but the identity

    def _colour(self) -> ColourTransform | None:
        if not (self.colour_jitter > 0 or self.channel_permute > 0):
            return None
        perm = (0, 1, 2)
        if self.channel_permute > 0 and self.rng.random() < self.channel_permute:
            perm = self._PERMUTATIONS[int(self.rng.integers(len(self._PERMUTATIONS)))]
        j = self.colour_jitter
        gain = tuple(float(v) for v in self.rng.uniform(1 - j, 1 + j, 3)) if j > 0 else (1.0, 1.0, 1.0)
        offset = tuple(float(v) for v in self.rng.uniform(-j / 2, j / 2, 3)) if j > 0 else (0.0, 0.0, 0.0)
        return ColourTransform(perm, gain, offset)

    def pictures(self, d: Draw) -> list:
        c = self.clips[d.clip]
        dec = c.decoded[d.pair]
        return [c.rgb(dec, d.s), c.rgb(c.source, d.s), c.rgb(dec, d.t), c.rgb(c.source, d.t)]

    def assemble(self, draws: list, rgb):
        """``rgb``: (B, 4, 3, H, W) uint8 tensor of the draws' pictures -> ([key, key source, base, target] as
        float (B, 3, h, w) in [0, 1], lambda (B,), keypoints (key (B, K, 2), target (B, K, 2)) or None)."""
        import torch
        c = self.clips[draws[0].clip]
        if self.crop:
            rgb = torch.stack([r[:, :, d.y0:d.y0 + self.crop, d.x0:d.x0 + self.crop] for r, d in zip(rgb, draws)])
        flips = torch.tensor([d.flip for d in draws], device=rgb.device)
        rgb = torch.where(flips.view(-1, 1, 1, 1, 1), rgb.flip(-1), rgb)
        stack = [rgb[:, j].float() / 255.0 for j in range(4)]
        if any(d.colour is not None for d in draws):
            stack = [torch.cat([d.colour.apply(x[i:i + 1]) if d.colour is not None else x[i:i + 1]
                                for i, d in enumerate(draws)]) for x in stack]
        lam = torch.tensor([qp_loss_weight(d.pair[1]) for d in draws], dtype=torch.float32)
        kps = None
        if self.keypoints is not None:
            kk, kt = [], []
            for d in draws:
                k_s, k_t = self.keypoints.pair_keypoints(self.clips[d.clip].name, d.pair, d.s, d.t, d.derived)
                kk.append(k_s)
                kt.append(k_t)
            kk, kt = (torch.from_numpy(np.stack(a)).to(rgb.device) for a in (kk, kt))
            kps = [crop_keypoints(k, draws, c.width, c.height, self.crop) for k in (kk, kt)]
        return stack, lam, kps

    def batch_of(self, draws: list):
        import torch
        rgb = torch.from_numpy(np.stack([np.stack(self.pictures(d)) for d in draws]))
        return self.assemble(draws, rgb)

    def batch(self, size: int):
        return self.batch_of([self.draw() for _ in range(size)])

    # prefetching: the draws are made in the caller's thread (so the generator's state is well defined), the
    # pictures assembled by ``pool``; the state saved with a run is the one before the oldest batch not yet used
    def prefetch(self, pool, size: int):
        self._pending = getattr(self, "_pending", [])
        self._pending.append(self.rng.bit_generator.state)
        draws = [self.draw() for _ in range(size)]
        return pool.submit(self.batch_of, draws)

    def consumed(self) -> None:
        self._pending.pop(0)

    def pending_rng_state(self) -> dict:
        pending = getattr(self, "_pending", [])
        return pending[0] if pending else self.rng.bit_generator.state


def crop_keypoints(kp, draws: list, width: int, height: int, crop: int):
    """Keypoints (B, K, 2) in whole-picture coordinates ([-1, 1], align-corners) -> coordinates of each draw's
    crop (and mirror): x_crop = 2 (x_pixel - x0) / (crop - 1) - 1 with x_pixel = (x + 1) (W - 1) / 2."""
    import torch
    kp = kp.clone().float()
    if crop:
        org = torch.tensor([[d.x0, d.y0] for d in draws], dtype=kp.dtype, device=kp.device).view(-1, 1, 2)
        size = torch.tensor([width - 1, height - 1], dtype=kp.dtype, device=kp.device)
        kp = 2 * ((kp + 1) * size / 2 - org) / (crop - 1) - 1
    flips = torch.tensor([d.flip for d in draws], device=kp.device).view(-1, 1)
    kp[..., 0] = torch.where(flips, -kp[..., 0], kp[..., 0])
    return kp


def variance_scale(width: int, crop: int) -> float:
    """Factor of the dense motion's keypoint variance on a crop, so that heatmaps keep their width in samples."""
    return ((width - 1) / (crop - 1)) ** 2 if crop else 1.0
