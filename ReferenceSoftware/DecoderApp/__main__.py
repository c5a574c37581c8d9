"""python -m DecoderApp -b str.bin [-o rec.yuv|.rgb|.y4m] [--Option value ...]

Thin application over DecoderLib (see doc/software_manual.md for every option).
Exit code 0: decoded completely, every MD5 check OK; 1: an error, a bitstream
that stopped early, or an MD5 mismatch.
"""
from __future__ import annotations

import csv
import sys
import time

from CommonLib.app_config import Option, flag
from CommonLib.app_main import TraceFile, run_app
from CommonLib.errors import InputError

OPTIONS = [
    Option("BitstreamFile", str, "", "input bitstream", "b"),
    Option("ReconFile", str, "", "output pictures (.yuv 4:2:0 / .y4m / .rgb 4:4:4); empty = none", "o"),
    Option("OutputBaseLayer", str, "", "decoded base-layer pictures (.yuv / .y4m / .rgb)"),
    Option("TraceFile", str, "", "SEI syntax trace ('name  ue(v) : value')"),
    Option("OplFile", str, "", "output picture log (CSV: one line per picture with its MD5)"),
    flag("SEIDecodedPictureHash", 1, "check generated pictures (and the base layer) against their MD5 SEI"),
    Option("ModelFile", str, "", "integer model file to use instead of the shipped one the bitstream names"),
    flag("FloatInference", 0, "generate with the float network the integer model was converted from "
         "(non-normative; generated pictures are then not checked against their MD5 SEI)"),
    Option("FloatModelFile", str, "", "float model file for FloatInference (empty = the shipped one)"),
    Option("BaseLayerCodec", str, "hevc", "hevc or vvc", choices=("hevc", "vvc")),
    Option("OutputFrameRate", float, 0.0, "frame rate written to .y4m headers (0 = 25)", "fr"),
    Option("Threads", int, 0, "torch threads (0 = default)"),
    flag("Verbose", 1, "one line per picture"),
]


def run(cfg) -> int:
    import torch

    from CommonLib.video_io import VideoWriter
    from DecoderLib.decoder import DecodingStopped, HdacHfDecoder, read_bitstream

    if not cfg.BitstreamFile:
        raise InputError("no bitstream given (-b FILE)")
    if cfg.Threads:
        torch.set_num_threads(cfg.Threads)
    data = read_bitstream(cfg.BitstreamFile)
    t0 = time.time()
    writers = {}
    opl = None
    mismatches = stopped = 0
    n = bits = sei_bits = 0
    with TraceFile(cfg.TraceFile) as trace:
        dec = HdacHfDecoder(cfg.BaseLayerCodec, cfg.ModelFile, bool(cfg.SEIDecodedPictureHash), trace,
                            float_inference=bool(cfg.FloatInference), float_model_file=cfg.FloatModelFile,
                            log=lambda s: print(f"DecoderApp: {s}"))
        try:
            if cfg.OplFile:
                try:
                    opl_f = open(cfg.OplFile, "w", newline="")
                except OSError as e:
                    raise InputError(f"cannot write '{cfg.OplFile}': {e.strerror}") from None
                opl = csv.writer(opl_f)
                opl.writerow(["picture", "type", "fusion", "bits", "gfv_sei_bits", "md5_r", "md5_g", "md5_b", "md5_check"])
            for pic in dec.decode(data):
                h, w = pic.out.rgb.shape[1:]
                rate = cfg.OutputFrameRate or 25
                if cfg.ReconFile and "rec" not in writers:
                    writers["rec"] = VideoWriter(cfg.ReconFile, w, h, rate)
                if cfg.OutputBaseLayer and "bl" not in writers:
                    writers["bl"] = VideoWriter(cfg.OutputBaseLayer, w, h, rate)
                if "rec" in writers:
                    writers["rec"].write(pic.out.yuv if pic.out.yuv is not None else pic.out.rgb)
                if "bl" in writers and pic.base_picture is not None:
                    writers["bl"].write(pic.base_picture)
                if not cfg.SEIDecodedPictureHash:
                    check = "not checked"
                elif cfg.FloatInference and not pic.out.is_key:
                    check = "not checked (float)"
                elif pic.md5_expected is None:
                    check = "no MD5 SEI"
                else:
                    check = "OK" if pic.md5 == pic.md5_expected else "***ERROR***"
                    mismatches += check != "OK"
                md5s = ",".join(d.hex() for d in pic.md5)
                kind = "I (key)" if pic.out.is_key else ("P fused" if pic.out.fusion else "P anim ")
                if cfg.Verbose:
                    scale = "" if pic.out.residual_scale is None else f"scale {pic.out.residual_scale:3d}/64  "
                    print(f"POC {pic.out.index:5d} {kind}  {pic.bits:7d} bits  GFV SEI {pic.sei_bits:5d} bits  "
                          f"{scale}[MD5:{md5s},({check})]")
                if opl:
                    opl.writerow([pic.out.index, "key" if pic.out.is_key else "generated", int(pic.out.fusion),
                                  pic.bits, pic.sei_bits, *[d.hex() for d in pic.md5], check])
                n += 1
                bits += pic.bits
                sei_bits += pic.sei_bits
        except DecodingStopped as e:
            stopped = 1
            print(f"DecoderApp: error: decoding stopped after {e.pictures} intact picture(s): {e}", file=sys.stderr)
        finally:
            for wr in writers.values():
                wr.close(True)
            if opl:
                opl_f.close()
    dt = time.time() - t0
    print(f"DecoderApp: {n} pictures decoded in {dt:.2f} s ({n / dt if dt else 0:.2f} pictures/s); "
          f"{bits} bits, of which GFV SEI {sei_bits} bits")
    if cfg.ReconFile and n:
        print(f"DecoderApp: wrote {cfg.ReconFile}" + (" (intact pictures only)" if stopped else ""))
    if mismatches:
        print(f"DecoderApp: error: {mismatches} picture(s) failed the MD5 check", file=sys.stderr)
    return 1 if (mismatches or stopped) else 0


def main(argv=None) -> int:
    return run_app("DecoderApp", OPTIONS, argv, run)


if __name__ == "__main__":
    sys.exit(main())
