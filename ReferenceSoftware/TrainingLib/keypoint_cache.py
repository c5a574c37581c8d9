"""Keypoints of the training pictures, detected once per clip and cached (a frozen detector).

When the keypoint detector is not trained (``FreezeDetector 1``), the keypoints of every training picture
are a fixed function of the picture, so they are computed once, with the float detector, and kept beside
the clip's cached pictures:

* ``source``: the detector on the source pictures, the keypoints an encoder sends
  (``KeypointTransmission always``; the quantisation of clause 4.1 is not modelled);
* ``decoded (IntraQP, BaseLayerQP)``: the detector on the decoded pictures of the base-layer stream, the
  keypoints a decoder derives (``KeypointTransmission never``, doc/bitstream_syntax.md clause 3.4.6: key
  keypoints from the decoded key picture, target keypoints from the decoded base-layer picture).

The file names carry the first 10 hex digits of the SHA-256 of the detector's tensors, so a different
detector never reads another's keypoints.
"""
from __future__ import annotations

import hashlib
import os

import numpy as np
import torch

from TrainingLib.training_data import ClipCache, _save_npy


def detector_digest(kp_detector: torch.nn.Module) -> str:
    h = hashlib.sha256()
    for name, t in sorted(kp_detector.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:10]


@torch.no_grad()
def detect_all(kp_detector, clip: ClipCache, array: np.ndarray, batch: int = 16) -> np.ndarray:
    """(N, K, 2) float32 keypoints of every picture of ``array`` (a clip's 4:2:0 pictures)."""
    out = []
    for i in range(0, len(array), batch):
        rgb = np.stack([clip.rgb(array, j) for j in range(i, min(len(array), i + batch))])
        out.append(kp_detector(torch.from_numpy(rgb).float() / 255).numpy())
    return np.concatenate(out).astype(np.float32)


class KeypointCache:
    def __init__(self, kp_detector, clips: list[ClipCache], pairs, cache_dir: str, derived: bool, sent: bool,
                 log=None):
        kp_detector = kp_detector.eval()
        tag = detector_digest(kp_detector)
        self.source, self.decoded = {}, {}
        for c in clips:
            d = os.path.join(cache_dir, "keypoints", c.name)
            os.makedirs(d, exist_ok=True)
            wanted = ([("source", None)] if sent else []) + ([("decoded", p) for p in pairs] if derived else [])
            for kind, pair in wanted:
                name = "source" if pair is None else f"decoded_q{pair[1]}_i{pair[0]}"
                path = os.path.join(d, f"{name}_{tag}_{len(c.source)}.npy")
                if not os.path.exists(path):
                    if log:
                        log(f"keypoints of {c.name} {name}")
                    _save_npy(path, detect_all(kp_detector, c, c.source if pair is None else c.decoded[pair]))
                arr = np.load(path)
                if pair is None:
                    self.source[c.name] = arr
                else:
                    self.decoded[(c.name, tuple(pair))] = arr

    def pair_keypoints(self, clip: str, pair, s: int, t: int, derived: bool):
        """(key keypoints, target keypoints), each (K, 2)."""
        arr = self.decoded[(clip, tuple(pair))] if derived else self.source[clip]
        return arr[s], arr[t]
