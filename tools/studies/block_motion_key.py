"""How much of the key picture can block motion carry to a target, if the motion is found at the decoder?
Upper bounds for a decoder-side motion-compensated reference.

    python -m tools.studies.block_motion_key [--Pairs 50/37,38/27] [--Stride 3] [--Block 8] [--Range 16]
        [--MatchBlur 0] [--Window 0] [--Chain 100] [--ChainMotion base] [--KeepBelow -1]
        [--Clips train_vr_face5,train_hdtf_radio10] [--Output FILE.md]

On the clips (default: the held-out ones; training streams with an IRAP picture every 100, as the training recipe),
every ``Stride``-th picture that is not a key picture is a target; d = target index - key index. Per distance
bucket (key_distance's), PSNR-Y against the source of:

* the base-layer picture B_t;
* the decoded key picture K, motion-compensated per ``Block``x``Block`` block by the motion that best matches the
  *source* target (full search, +-``Range`` samples, then the 8 half-sample positions around the best,
  bilinear; sum of absolute luma differences): motion the decoder could only have if it were sent;
* the better of these two per block (chosen with the source: an oracle fusion of B_t and that reference);
* K motion-compensated by the motion that best matches B_t (the decoder has B_t: decoder-side motion; matched
  over ``Window``x``Window`` windows around each block, both pictures low-passed by ``MatchBlur`` first);
* the better of that and B_t per block (oracle choice; what a fusion of B_t and the decoder-side reference
  could reach if it chose perfectly where to trust the reference).

``--Chain N``: over the first N pictures after each clip's first key picture, the recurrence
R_t = per block the better of B_t and R_{t-1} motion-compensated by decoder-side motion (R = K at the key
picture), chosen with the source; the motion matches B_t against R_{t-1} (``--ChainMotion output``) or against
B_{t-1} (``base``: between base-layer pictures, of equal quality; B_s = K): an upper bound of a recurrent
design whose second reference is the previous output picture aligned by decoder-side block motion
(``tools.studies.recurrent_local_filter`` leaves the alignment to its convolutions). Gains over B_t by bucket.
``--KeepBelow T`` (T >= 0): the recurrence chooses as a decoder can, R_{t-1}'s aligned block where its low-passed
luma (``--MatchBlur``) differs from B_t's by less than T levels on average, else B_t's. Never the test split.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

def luma(x):
    """(B, 3, H, W) RGB in [0, 1] -> (B, 1, H, W) BT.709 luma (as Utilities.metrics.psnr_y)."""
    from Utilities.colour import BT709_LUMA
    kr, kg, kb = BT709_LUMA
    return kr * x[:, 0:1] + kg * x[:, 1:2] + kb * x[:, 2:3]


def shifted(ref, flow):
    """``ref`` (B, C, H, W) sampled at x + flow (flow (B, 2, H, W) in samples, x then y; bilinear, borders
    replicated)."""
    import torch
    import torch.nn.functional as F
    _, _, h, w = ref.shape
    ys, xs = torch.meshgrid(torch.arange(h, dtype=ref.dtype), torch.arange(w, dtype=ref.dtype), indexing="ij")
    gx = (xs + flow[:, 0]) * 2 / (w - 1) - 1
    gy = (ys + flow[:, 1]) * 2 / (h - 1) - 1
    return F.grid_sample(ref, torch.stack([gx, gy], -1), mode="bilinear", padding_mode="border", align_corners=True)


def per_sample(blocks, block: int):
    """Per-block values (..., h, w) -> per-sample values (..., block h, block w)."""
    return blocks.repeat_interleave(block, -2).repeat_interleave(block, -1)


def gaussian_blur(y, sigma: float):
    """Separable Gaussian low-pass of (B, 1, H, W) (radius 3 sigma, borders replicated); sigma 0: ``y``."""
    import torch
    import torch.nn.functional as F
    if sigma <= 0:
        return y
    r = max(1, int(3 * sigma + 0.5))
    g = torch.exp(-torch.arange(-r, r + 1, dtype=y.dtype) ** 2 / (2 * sigma * sigma))
    g = g / g.sum()
    y = F.conv2d(F.pad(y, (r, r, 0, 0), mode="replicate"), g.view(1, 1, 1, -1))
    return F.conv2d(F.pad(y, (0, 0, r, r), mode="replicate"), g.view(1, 1, -1, 1))


def window_sad(diff, block: int, window: int):
    """Mean of ``diff`` over the ``window``x``window`` window centred on each ``block``x``block`` block:
    the block and its neighbours up to (window / block - 1) / 2 blocks away (``window`` an odd multiple of
    ``block``; block means replicated beyond the picture); ``window`` <= ``block``: the block alone."""
    import torch.nn.functional as F
    m = F.avg_pool2d(diff, block)
    if window <= block:
        return m
    k = (window // block - 1) // 2
    return F.avg_pool2d(F.pad(m, (k, k, k, k), mode="replicate"), 2 * k + 1, stride=1)


def block_motion(target, ref, block: int, rng: int, blur: float = 0.0, window: int = 0):
    """Per ``block``x``block`` block of ``target`` the displacement (in samples, half-sample precision) into
    ``ref`` with the least mean absolute luma difference over a ``window``x``window`` window centred on the block
    (``window`` <= ``block``: the block), both luma planes low-passed by a Gaussian of ``blur`` samples first;
    returns the per-sample flow (B, 2, H, W)."""
    import torch
    import torch.nn.functional as F
    yt, yr = gaussian_blur(luma(target), blur), gaussian_blur(luma(ref), blur)
    _, _, h, w = yt.shape
    pad = F.pad(yr, (rng, rng, rng, rng), mode="replicate")
    best = torch.full((yt.shape[0], 1, h // block, w // block), float("inf"))
    bv = torch.zeros(yt.shape[0], 2, h // block, w // block)
    for dy in range(-rng, rng + 1):
        for dx in range(-rng, rng + 1):
            cand = pad[:, :, rng + dy:rng + dy + h, rng + dx:rng + dx + w]
            sad = window_sad((yt - cand).abs(), block, window) + 1e-7 * (abs(dx) + abs(dy))   # ties: the shorter
            better = sad < best
            best = torch.where(better, sad, best)
            bv[:, 0:1] = torch.where(better, torch.full_like(sad, dx), bv[:, 0:1])
            bv[:, 1:2] = torch.where(better, torch.full_like(sad, dy), bv[:, 1:2])
    centre = bv.clone()
    for hy in (-0.5, 0.0, 0.5):
        for hx in (-0.5, 0.0, 0.5):
            if hx == 0 and hy == 0:
                continue
            v = centre + torch.tensor([hx, hy]).view(1, 2, 1, 1)
            cand = shifted(yr, per_sample(v, block))
            sad = window_sad((yt - cand).abs(), block, window)
            better = sad < best
            best = torch.where(better, sad, best)
            bv = torch.where(better, v, bv)
    return per_sample(bv, block)


def better_per_block(a, b, truth, block: int):
    """Per block, whichever of ``a`` and ``b`` has the smaller luma squared error against ``truth``."""
    import torch.nn.functional as F
    ea = F.avg_pool2d((luma(a) - luma(truth)) ** 2, block)
    eb = F.avg_pool2d((luma(b) - luma(truth)) ** 2, block)
    pick = per_sample(ea <= eb, block)
    return a.where(pick, b)


def keep_where_close(r, b, block: int, tau: float, sigma: float):
    """Per block ``r`` where the mean absolute difference of the low-passed (Gaussian ``sigma``) lumas of ``r``
    and ``b`` is below ``tau`` (8-bit levels), else ``b``: a choice the decoder can make."""
    import torch.nn.functional as F
    d = F.avg_pool2d((gaussian_blur(luma(r), sigma) - gaussian_blur(luma(b), sigma)).abs(), block) * 255
    keep = per_sample(d < tau, block)
    return r.where(keep, b)


def run(a) -> str:
    import torch
    from TrainingLib.trainer import _tensor, to_uint8
    from TrainingLib.training_data import pair_name, parse_qp_pairs
    from Utilities.errors import ConfigError
    from Utilities.metrics import psnr_y
    from tools.studies.key_distance import BUCKETS, bucket_of, distance_targets, held_out_clips
    torch.set_num_threads(1)
    pairs = parse_qp_pairs(a.Pairs, "--Pairs")
    clips = held_out_clips(a.Clips, pairs, a.CacheDir, a.StreamDir)
    bs, rg = a.Block, a.Range
    for c in clips:
        if c.width % bs or c.height % bs:
            raise ConfigError(f"--Block {bs} does not divide the {c.width}x{c.height} pictures of '{c.name}'")
    head = ["pair", "distance", "pictures", "base B_t", "K, source motion", "better of the two per block",
            "K, motion on B_t", "better of B_t and that per block"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    chain_lines = ["| pair | " + " | ".join(f"d {lo}..{hi}" for lo, hi in BUCKETS) + " | all |",
                   "|---|" + "---|" * (len(BUCKETS) + 1)]
    with torch.no_grad():
        for pair in pairs:
            acc = [[] for _ in BUCKETS]
            for c in clips:
                dec = c.decoded[tuple(pair)]
                for t, s, b in distance_targets(c, a.Stride):
                    truth = _tensor(c.rgb(c.source, t), "cpu")
                    key, base = _tensor(c.rgb(dec, s), "cpu"), _tensor(c.rgb(dec, t), "cpu")
                    ks = shifted(key, block_motion(truth, key, bs, rg))
                    kd = shifted(key, block_motion(base, key, bs, rg, a.MatchBlur, a.Window))
                    ref = c.rgb(c.source, t)
                    pics = (base, ks, better_per_block(ks, base, truth, bs), kd, better_per_block(kd, base, truth, bs))
                    acc[b].append([psnr_y(to_uint8(p[0]), ref) for p in pics])
            for (lo, hi), rows in zip(BUCKETS, acc):
                if rows:
                    m = np.mean(np.array(rows), axis=0)
                    lines.append(f"| {pair_name(pair)} | {lo}..{hi} | {len(rows)} | "
                                 + " | ".join(f"{v:.2f}" for v in m) + " |")
            if a.Chain:
                by, every = [[] for _ in BUCKETS], []
                for c in clips:
                    dec = c.decoded[tuple(pair)]
                    s0 = int(c.key_positions[0])
                    r = prev = _tensor(c.rgb(dec, s0), "cpu")
                    for t in range(s0 + 1, min(len(c.source), s0 + 1 + a.Chain)):
                        base = _tensor(c.rgb(dec, t), "cpu")
                        if c.key_index(t) == t:
                            r = prev = base
                            continue
                        truth = _tensor(c.rgb(c.source, t), "cpu")
                        against = r if a.ChainMotion == "output" else prev
                        flow = block_motion(base, against, bs, rg, a.MatchBlur, a.Window)
                        aligned = shifted(r, flow)
                        r = (better_per_block(aligned, base, truth, bs) if a.KeepBelow < 0
                             else keep_where_close(aligned, base, bs, a.KeepBelow, a.MatchBlur))
                        prev = base
                        ref = c.rgb(c.source, t)
                        g = psnr_y(to_uint8(r[0]), ref) - psnr_y(to_uint8(base[0]), ref)
                        every.append(g)
                        k = bucket_of(t - c.key_index(t))
                        if k >= 0:
                            by[k].append(g)
                chain_lines.append(f"| {pair_name(pair)} | " + " | ".join(
                    f"{np.mean(v):+.2f}" if v else "" for v in by) + f" | {np.mean(every):+.2f} |")
    text = (f"Clips {a.Clips.replace(',', ', ')}, every {a.Stride}th picture a target, x265 base layers of "
            f"EncoderApp's settings, an IRAP picture every 100; blocks {bs}x{bs}, full search +-{rg} samples and "
            f"half-sample refinement; decoder-side matching "
            f"{'over ' + str(a.Window) + 'x' + str(a.Window) + ' windows' if a.Window > bs else 'over the block'}"
            f"{f', pictures low-passed (sigma {a.MatchBlur:g})' if a.MatchBlur > 0 else ''}. Mean PSNR-Y (dB). Made by `python -m tools.studies.block_motion_key "
            f"--Pairs {a.Pairs} --Stride {a.Stride} --Block {bs} --Range {rg} --MatchBlur {a.MatchBlur:g} "
            f"--Window {a.Window} --Chain {a.Chain} --ChainMotion {a.ChainMotion} --KeepBelow {a.KeepBelow:g}`.\n\n"
            + "\n".join(lines) + "\n")
    if a.Chain:
        text += (f"\nRecurrence over the first {a.Chain} pictures of each clip: R_t = per block the better of B_t "
                 f"and R_(t-1) aligned by decoder-side block motion (matching B_t against "
                 f"{'R_(t-1)' if a.ChainMotion == 'output' else 'B_(t-1)'}; "
                 + ("chosen with the source" if a.KeepBelow < 0 else
                    f"R's block kept where its low-passed luma differs from B_t's by less than {a.KeepBelow:g} "
                    f"levels on average, a choice the decoder can make")
                 + "); gain over B_t "
                 f"(dB) by distance to the key picture.\n\n" + "\n".join(chain_lines) + "\n")
    return text


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--Pairs", default="50/37,38/27", help="BaseLayerQP/IntraQP pairs")
    ap.add_argument("--Stride", type=int, default=3, help="every Stride-th picture is a target")
    ap.add_argument("--Block", type=int, default=8, help="block size of the motion (divides 256)")
    ap.add_argument("--Range", type=int, default=16, help="full-search range in samples")
    ap.add_argument("--MatchBlur", type=float, default=0.0,
                    help="Gaussian low-pass (sigma, samples) of both pictures before decoder-side matching")
    ap.add_argument("--Window", type=int, default=0, help="matching window of decoder-side motion (0: the block)")
    ap.add_argument("--Chain", type=int, default=100, help="pictures of the recurrence (0: none)")
    ap.add_argument("--ChainMotion", default="base", choices=("base", "output"),
                    help="the recurrence's motion: B_t against B_(t-1) (base) or against R_(t-1) (output)")
    ap.add_argument("--KeepBelow", type=float, default=-1.0,
                    help="the recurrence's choice: < 0 the better block (oracle), else R's block where the "
                         "low-passed lumas differ by less than this (8-bit levels; low-pass --MatchBlur)")
    ap.add_argument("--Clips", default="train_vr_face5,train_hdtf_radio10", help="training clips (held out)")
    ap.add_argument("--CacheDir", default="work/train_cache")
    ap.add_argument("--StreamDir", default="training/base_layers")
    ap.add_argument("--Output", default="", help="write the tables to this Markdown file")
    a = ap.parse_args(argv)
    for name, v, lo in (("Stride", a.Stride, 1), ("Block", a.Block, 2), ("Range", a.Range, 0), ("Chain", a.Chain, 0)):
        if v < lo:
            print(f"block_motion_key: error: --{name} must be at least {lo}", file=sys.stderr)
            return 1
    if a.Window > a.Block and (a.Window % a.Block or (a.Window // a.Block) % 2 == 0):
        print(f"block_motion_key: error: --Window {a.Window} is not an odd multiple of --Block {a.Block}",
              file=sys.stderr)
        return 1
    from tools.studies import report
    return report("block_motion_key", run, a, "The key picture through decoder-side block motion: upper bounds",
                  "block motion table")


if __name__ == "__main__":
    sys.exit(main())
