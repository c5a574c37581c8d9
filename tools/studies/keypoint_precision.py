"""Choose the keypoint coordinate precision: quantisation error vs. detector noise vs. SEI bits.

    python -m tools.studies.keypoint_precision [--model resource:models/hdac_hf_small_v2.safetensors] [--frames 120]

For each test sequence: the detector's keypoints on the source pictures, their
jitter (RMS of the second difference kp[t] - (kp[t-1] + kp[t+1]) / 2, an
estimate of the detector's frame-to-frame noise, in pixels of a 256-pixel
picture), the RMS quantisation error at P = 4..8 (in pixels), and the GFV SEI
payload bits per driving picture with keypoint prediction.
"""
import argparse
import os

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from Utilities.app_config import resolve_resource  # noqa: E402
from CommonLib.syntax.keypoint_coding import GfvState, dequantise, quantise_keypoints  # noqa: E402
from EncoderLib.gfv_message_writer import encode_gfv_payload  # noqa: E402
from CommonLib.network.model_file import load_model  # noqa: E402
from Utilities.sequence_list import read_sequence_list  # noqa: E402
from Utilities.video_io import VideoReader  # noqa: E402

from Utilities.sequence_list import DEFAULT_SEQUENCE_LIST


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="resource:models/hdac_hf_small_v2.safetensors")
    ap.add_argument("--list", default=DEFAULT_SEQUENCE_LIST)
    ap.add_argument("--frames", type=int, default=120)
    a = ap.parse_args()
    model, _ = load_model(resolve_resource(a.model))
    print("| sequence | jitter px | " + " | ".join(f"P={p}: q.err px / bits" for p in range(4, 9)) + " |")
    print("|---|---|" + "---|" * 5)
    tot = {p: [] for p in range(4, 9)}
    for s in read_sequence_list(a.list, "test"):
        kps = []
        with torch.no_grad():
            for pic in VideoReader(s["path"]).frames(0, a.frames):
                x = torch.from_numpy(pic.to_rgb()).float().unsqueeze(0) / 255
                kps.append(model.kp_detector(x)[0].double().numpy())
        k = np.stack(kps)
        jitter = np.sqrt(np.mean((k[1:-1] - (k[:-2] + k[2:]) / 2) ** 2)) * 128
        cells = []
        for p in range(4, 9):
            q = np.stack([quantise_keypoints(f, p) for f in k])
            err = np.sqrt(np.mean((dequantise(q, p) - k) ** 2)) * 128
            st = GfvState()
            bits = [8 * len(encode_gfv_payload(st, 0, q[0], p, base_picture=True, uri_tag="t", uri="u")[0])]
            bits = [8 * len(encode_gfv_payload(st, 0, f, p, base_picture=False, fusion_flag=1)[0]) for f in q[1:]]
            tot[p].append((err, np.mean(bits)))
            cells.append(f"{err:.3f} / {np.mean(bits):.1f}")
        print(f"| {s['name']} | {jitter:.3f} | " + " | ".join(cells) + " |")
    print("| mean | | " + " | ".join(f"{np.mean([e for e, _ in tot[p]]):.3f} / {np.mean([b for _, b in tot[p]]):.1f}"
                                   for p in range(4, 9)) + " |")


if __name__ == "__main__":
    main()
