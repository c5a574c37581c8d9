#!/usr/bin/env python3
"""Quality of the normative integer process against the float network on the test split.

    python -m tools.studies.integer_vs_float [--sequences ../shared/sequences/sequences.yaml] [--frames 64]
                                     [--qps 44,50] [--model resource:models/hdac_hf_small_v2.hfim] [--out doc/results/integer_vs_float_v2]

For each test sequence and base-layer QP: EncoderApp (integer reconstruction,
written as .rgb) and DecoderApp --FloatInference 1 on the same bitstream;
PSNR-Y and MS-SSIM(Y) of both against the source. Writes <out>.md and <out>.json.
"""
from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import time

from Utilities.sequence_list import DEFAULT_SEQUENCE_LIST

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main(argv=None) -> int:
    import numpy as np
    from Utilities.files import write_json, write_text
    from EncoderLib.base_layer_settings import DEFAULT_X265_PARAMS, DEFAULT_X265_PRESET
    from Utilities.metrics import ms_ssim_y, psnr_y
    from Utilities.sequence_list import read_sequence_list
    from Utilities.video_io import VideoReader
    from DecoderApp.__main__ import main as decoder_main
    from EncoderApp.__main__ import main as encoder_main
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sequences", default=DEFAULT_SEQUENCE_LIST)
    ap.add_argument("--frames", type=int, default=64)
    ap.add_argument("--qps", default="44,50")
    ap.add_argument("--model", default="resource:models/hdac_hf_small_v2.hfim")
    ap.add_argument("--out", default=os.path.join(ROOT, "doc", "results", "integer_vs_float_v2"))
    argv = sys.argv[1:] if argv is None else argv
    a = ap.parse_args(argv)
    base_layer = f"x265 {DEFAULT_X265_PRESET} ({DEFAULT_X265_PARAMS})"
    rows = []
    for seq in read_sequence_list(a.sequences, "test"):
        src = [p.to_rgb() for p in VideoReader(seq["path"]).frames(0, a.frames)]
        for qp in (int(q) for q in a.qps.split(",")):
            with tempfile.TemporaryDirectory() as d:
                bs, ri, rf = (os.path.join(d, f) for f in ("s.bin", "int.rgb", "float.rgb"))
                t0 = time.time()
                assert encoder_main(["-i", seq["path"], "-b", bs, "-o", ri, "-f", str(a.frames), "--BaseLayerQP", str(qp),
                                     "--ModelFile", a.model, "--Progress", "0", "--Verbose", "0"]) == 0
                t1 = time.time()
                assert decoder_main(["-b", bs, "-o", rf, "--FloatInference", "1", "--Verbose", "0"]) == 0
                t2 = time.time()
                h, w = src[0].shape[1:]
                ints = [p.to_rgb() for p in VideoReader(ri, w, h).frames()]
                flts = [p.to_rgb() for p in VideoReader(rf, w, h).frames()]
            gen = range(1, len(src))                 # picture 0 is the key picture (identical)
            r = {"sequence": seq["name"], "qp": qp, "pictures": len(gen),
                 "psnr_y_int": float(np.mean([psnr_y(ints[i], src[i]) for i in gen])),
                 "psnr_y_float": float(np.mean([psnr_y(flts[i], src[i]) for i in gen])),
                 "ms_ssim_int": float(np.mean([ms_ssim_y(ints[i], src[i]) for i in gen])),
                 "ms_ssim_float": float(np.mean([ms_ssim_y(flts[i], src[i]) for i in gen])),
                 "psnr_y_int_vs_float": float(np.mean([psnr_y(ints[i], flts[i]) for i in gen])),
                 "encode_s": t1 - t0, "float_decode_s": t2 - t1}
            rows.append(r)
            print(f"{seq['name']} QP{qp}: integer {r['psnr_y_int']:.3f} dB, float {r['psnr_y_float']:.3f} dB, "
                  f"difference {r['psnr_y_int'] - r['psnr_y_float']:+.3f} dB", flush=True)
    write_json(a.out + ".json", {"model": a.model, "frames": a.frames, "base_layer": base_layer, "rows": rows})
    command = "python -m tools.studies.integer_vs_float " + " ".join(shlex.quote(x) for x in argv)
    lines = ["# Integer process vs float network (test split)", "",
             f"Model `{a.model}`, first {a.frames} pictures of each test sequence (the generated ones: all but the "
             f"key picture), IntraQP 27, base layer {base_layer} (EncoderApp's code defaults). Made by `{command}`.",
             "",
             "| sequence | QP | PSNR-Y integer | PSNR-Y float | difference (dB) | MS-SSIM integer | MS-SSIM float | PSNR-Y integer vs float |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['sequence']} | {r['qp']} | {r['psnr_y_int']:.3f} | {r['psnr_y_float']:.3f} | "
                     f"{r['psnr_y_int'] - r['psnr_y_float']:+.3f} | {r['ms_ssim_int']:.5f} | {r['ms_ssim_float']:.5f} | "
                     f"{r['psnr_y_int_vs_float']:.2f} |")
    for qp in sorted({r["qp"] for r in rows}):
        sel = [r for r in rows if r["qp"] == qp]
        d = np.mean([r["psnr_y_int"] - r["psnr_y_float"] for r in sel])
        lines.append(f"| **average** | {qp} | {np.mean([r['psnr_y_int'] for r in sel]):.3f} | "
                     f"{np.mean([r['psnr_y_float'] for r in sel]):.3f} | {d:+.3f} | "
                     f"{np.mean([r['ms_ssim_int'] for r in sel]):.5f} | {np.mean([r['ms_ssim_float'] for r in sel]):.5f} | "
                     f"{np.mean([r['psnr_y_int_vs_float'] for r in sel]):.2f} |")
    write_text(a.out + ".md", "\n".join(lines) + "\n")
    print(f"wrote {a.out}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
