"""EvalLib.fsim: FSIM / FSIMc against golden values of piq 0.8.0."""
import os

import numpy as np
import pytest

from Utilities.video_io import VideoReader
from EvalLib.fsim import fsim

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLIP = os.path.join(ROOT, "ReferenceSoftware", "CommonLib", "resources", "clips",
                    "ctc01_lp_d6_256x256_30_32f.y4m")

# Computed by piq 0.8.0's piq.fsim (NOT by EvalLib.fsim) with tests/make_fsim_goldens.py:
# piq.fsim(x, y, data_range=1.0, chromatic=<key>, reduction='none') in float64,
# x = distorted / 255, y = reference / 255, both (1, 3, H, W), on the pairs built
# by the recipes below (make_pairs, which tests/make_fsim_goldens.py calls):
#   a_clip_noise8:  first picture of CLIP (VideoReader(...).frames(count=1), .to_rgb()),
#                   distorted = clip(rint(ref + default_rng(0).normal(0, 8, (3, 256, 256))), 0, 255)
#   b_clip_blur3:   same picture, distorted = 3x3 box mean, edges replicated, (sum + 4) // 9
#   c_synthetic_128, d_synthetic_97x131, e_synthetic_530x517 (F = 2):
#                   synthetic_pair(h, w, seed) below with seeds 2024, 7, 11
GOLDEN = {
    ('a_clip_noise8', True): 0.8727309566288155,
    ('a_clip_noise8', False): 0.877636446776367,
    ('b_clip_blur3', True): 0.9823789312006581,
    ('b_clip_blur3', False): 0.9824008672336777,
    ('c_synthetic_128', True): 0.8694099746609089,
    ('c_synthetic_128', False): 0.8777011264120209,
    ('d_synthetic_97x131', True): 0.8800557190347563,
    ('d_synthetic_97x131', False): 0.8873856560352354,
    ('e_synthetic_530x517', True): 0.9748907673920015,
    ('e_synthetic_530x517', False): 0.979092024508275,
}


def add_noise(rgb, sigma, seed=0):
    rng = np.random.default_rng(seed)
    noisy = rgb.astype(np.float64) + rng.normal(0.0, sigma, rgb.shape)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def box_blur3(rgb):
    _, h, w = rgb.shape
    p = np.pad(rgb.astype(np.int64), ((0, 0), (1, 1), (1, 1)), mode="edge")
    s = sum(p[:, i:i + h, j:j + w] for i in range(3) for j in range(3))
    return ((s + 4) // 9).astype(np.uint8)


def synthetic_pair(h, w, seed):
    rng = np.random.default_rng(seed)
    rows = np.arange(h)[:, None]
    cols = np.arange(w)[None, :]
    ref = np.empty((3, h, w), np.int64)
    ref[0] = (rows * 255) // (h - 1) + 0 * cols
    ref[1] = ((rows // 8 + cols // 8) % 2) * 160 + 40
    ref[2] = (3 * cols + rows) % 256
    for _ in range(12):
        y0 = int(rng.integers(0, h - 8))
        x0 = int(rng.integers(0, w - 8))
        rh = int(rng.integers(4, h // 3))
        rw = int(rng.integers(4, w // 3))
        ref[:, y0:y0 + rh, x0:x0 + rw] = rng.integers(0, 256, size=(3, 1, 1))
    dist = ref + rng.integers(-20, 21, size=ref.shape)
    dist[0] += 10
    dist[2] -= 15
    return ref.astype(np.uint8), np.clip(dist, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def picture():
    pic = next(VideoReader(CLIP).frames(count=1)).to_rgb()
    assert pic.shape == (3, 256, 256) and pic.dtype == np.uint8
    return pic


def make_pairs(picture):
    """The golden pairs (reference, distorted) by name; tests/make_fsim_goldens.py computes piq's values on these."""
    return {
        "a_clip_noise8": (picture, add_noise(picture, 8.0, seed=0)),
        "b_clip_blur3": (picture, box_blur3(picture)),
        "c_synthetic_128": synthetic_pair(128, 128, seed=2024),
        "d_synthetic_97x131": synthetic_pair(97, 131, seed=7),
        "e_synthetic_530x517": synthetic_pair(530, 517, seed=11),
    }


@pytest.fixture(scope="module")
def pairs(picture):
    return make_pairs(picture)


@pytest.mark.parametrize("name,chromatic", list(GOLDEN))
def test_matches_piq_goldens(pairs, name, chromatic):
    ref, dist = pairs[name]
    assert fsim(ref, dist, chromatic=chromatic) == pytest.approx(GOLDEN[(name, chromatic)], abs=1e-9)


@pytest.mark.parametrize("chromatic", [True, False])
def test_identical_pictures_give_one(picture, chromatic):
    assert fsim(picture, picture.copy(), chromatic=chromatic) == 1.0
    ref, _ = synthetic_pair(97, 131, seed=7)
    assert fsim(ref, ref, chromatic=chromatic) == 1.0


def test_symmetric(pairs):
    ref, dist = pairs["c_synthetic_128"]
    assert fsim(ref, dist) == pytest.approx(fsim(dist, ref), abs=1e-12)


@pytest.mark.parametrize("chromatic", [True, False])
def test_more_noise_lower_fsim(picture, chromatic):
    values = [fsim(picture, add_noise(picture, s, seed=0), chromatic=chromatic) for s in (2, 4, 8, 16, 32)]
    assert all(hi > lo for hi, lo in zip(values, values[1:])), values
    assert values[0] < 1.0


def test_chromatic_sees_colour_distortion(picture):
    # Swap R and B: the luma changes little, the chroma a lot.
    swapped = picture[[2, 1, 0]].copy()
    c = fsim(picture, swapped, chromatic=True)
    y = fsim(picture, swapped, chromatic=False)
    assert c < y - 1e-3
    assert 0.0 < c < 1.0 and 0.0 < y < 1.0


def test_bad_input():
    a = np.zeros((3, 16, 16), np.uint8)
    with pytest.raises(ValueError):
        fsim(a, np.zeros((3, 16, 17), np.uint8))
    with pytest.raises(ValueError):
        fsim(a, a.astype(np.float32))
    with pytest.raises(ValueError):
        fsim(a[0], a[0])
