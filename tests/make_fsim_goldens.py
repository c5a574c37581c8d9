"""Golden values of tests/test_fsim.py, computed with piq 0.8.0's ``piq.fsim``.

One-off validation script; NOT imported by the tests and not part of the
software. It needs the piq 0.8.0 wheel (piq itself is not a project
dependency) and a stand-in ``torchvision`` package, which this script writes
to a temporary directory: piq's package ``__init__`` imports modules that
import torchvision at import time (VGG / Inception feature extractors), but
``piq.fsim`` never uses it, and torchvision cannot be installed beside the
project's torch. The stub holds only the names those imports need.

To rerun (from the repository root)::

    mkdir -p /tmp/piqwheel && pip download --no-deps piq==0.8.0 -d /tmp/piqwheel
    python tests/make_fsim_goldens.py --piq /tmp/piqwheel/piq-0.8.0-py3-none-any.whl

``--piq`` takes the wheel file itself (imported as a zip) or a directory into
which it was unzipped. The script

* builds the test pairs with exactly the recipes of tests/test_fsim.py
  (duplicated here on purpose, so the test file depends on nothing else),
* prints ``piq.fsim(x, y, data_range=1.0, chromatic=..., reduction='none')``
  for each pair in float64 (x = distorted, y = reference, both (1, 3, H, W)
  in [0, 1]) as the GOLDEN dictionary used in tests/test_fsim.py,
* then, for information only, compares EvalLib.fsim with piq on those pairs
  and on a few more (the picture decoded from
  ../shared/sequences/ctc01_lp_d6.mp4 if present, piq in float32) and times
  EvalLib.fsim per 256x256 picture.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLIP = os.path.join(ROOT, "ReferenceSoftware", "CommonLib", "resources", "clips",
                    "ctc01_lp_d6_256x256_30_32f.y4m")
MP4 = os.path.join(os.path.dirname(ROOT), "shared", "sequences", "ctc01_lp_d6.mp4")

_STUB = {
    "torchvision/__init__.py": "from . import models\n",
    "torchvision/models/__init__.py": (
        "from . import inception\n"
        "def _absent(*args, **kwargs):\n"
        "    raise NotImplementedError('torchvision stub')\n"
        "vgg16 = vgg19 = inception_v3 = _absent\n"),
    "torchvision/models/inception.py": (
        "import torch.nn as nn\n"
        "class InceptionA(nn.Module):\n    pass\n"
        "class InceptionC(nn.Module):\n    pass\n"
        "class InceptionE(nn.Module):\n    pass\n"),
}


def import_piq(piq_path: str, stub_dir: str):
    for rel, text in _STUB.items():
        path = os.path.join(stub_dir, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
    sys.path.insert(0, stub_dir)
    sys.path.insert(0, os.path.abspath(piq_path))
    import piq
    assert piq.__version__ == "0.8.0", piq.__version__
    return piq


# --- test pairs: the same recipes as tests/test_fsim.py -----------------------

def clip_picture() -> np.ndarray:
    """First picture of the embedded clip, (3, 256, 256) uint8 R'G'B'."""
    from Utilities.video_io import VideoReader
    return next(VideoReader(CLIP).frames(count=1)).to_rgb()


def test_pairs():
    """The test's own pairs (tests/test_fsim.make_pairs), so that the goldens are computed on exactly its inputs."""
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    import test_fsim
    return test_fsim.make_pairs(clip_picture())


# -----------------------------------------------------------------------------

def piq_fsim(piq, torch, ref, dist, chromatic, dtype=None):
    dtype = dtype or torch.float64
    x = torch.from_numpy(dist.astype(np.float64) / 255.0)[None].to(dtype)
    y = torch.from_numpy(ref.astype(np.float64) / 255.0)[None].to(dtype)
    return float(piq.fsim(x, y, data_range=1.0, chromatic=chromatic, reduction="none")[0])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--piq", required=True, help="piq-0.8.0 wheel file or its unzipped directory")
    ap.add_argument("--no-check", action="store_true", help="only print the goldens")
    args = ap.parse_args()

    import torch
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as stub_dir:
        piq = import_piq(args.piq, stub_dir)
        pairs = test_pairs()
        golden = {}
        for name, (ref, dist) in pairs.items():
            for chromatic in (True, False):
                golden[(name, chromatic)] = piq_fsim(piq, torch, ref, dist, chromatic)

        print("# piq 0.8.0 piq.fsim, float64, data_range=1.0, x = distorted, y = reference")
        print("GOLDEN = {")
        for (name, chromatic), v in golden.items():
            print(f"    ({name!r}, {chromatic}): {v!r},")
        print("}")
        if args.no_check:
            return

        from EvalLib.fsim import fsim
        extra = {}
        if os.path.isfile(MP4):
            import av
            from test_fsim import add_noise, box_blur3
            with av.open(MP4) as c:
                frame = next(c.decode(video=0)).to_ndarray(format="rgb24")
            mp4 = np.ascontiguousarray(frame.transpose(2, 0, 1)[:, :256, :256])
            extra["mp4_noise8"] = (mp4, add_noise(mp4, 8.0, seed=0))
            extra["mp4_blur3"] = (mp4, box_blur3(mp4))
            extra["mp4_crop_255x201"] = (mp4[:, :255, :201], add_noise(mp4, 5.0, seed=3)[:, :255, :201])
        worst = 0.0
        print("\n# EvalLib.fsim vs piq (float64) [vs piq float32]")
        for name, (ref, dist) in {**pairs, **extra}.items():
            for chromatic in (True, False):
                ours = fsim(ref, dist, chromatic=chromatic)
                ref64 = golden.get((name, chromatic))
                if ref64 is None:
                    ref64 = piq_fsim(piq, torch, ref, dist, chromatic)
                ref32 = piq_fsim(piq, torch, ref, dist, chromatic, torch.float32)
                worst = max(worst, abs(ours - ref64))
                print(f"{name:22s} chromatic={chromatic!s:5s} ours={ours:.15f} piq64={ref64:.15f} "
                      f"d64={abs(ours - ref64):.2e} d32={abs(ours - ref32):.2e}")
        print(f"max |ours - piq float64| = {worst:.3e}")

        ref, dist = pairs["a_clip_noise8"]
        fsim(ref, dist)
        n = 20
        t0 = time.perf_counter()
        for _ in range(n):
            fsim(ref, dist)
        print(f"EvalLib.fsim 256x256 FSIMc: {(time.perf_counter() - t0) / n * 1e3:.1f} ms per picture pair")


if __name__ == "__main__":
    main()
