"""python -m DecoderApp -b str.bin [-o rec.yuv|.rgb|.y4m] [--Option value ...]

Thin application over DecoderLib (see doc/software_manual.md for every option).
Exit code 0: decoded completely, every MD5 check OK; 1: an error, a bitstream
that stopped early, or an MD5 mismatch.
"""
from __future__ import annotations

import csv
import sys
import time

from Utilities.app_config import Option, flag
from Utilities.app_main import TraceFile, run_app
from Utilities.errors import InputError
from CommonLib.syntax.options import BASE_LAYER_CODEC, GFV_SEI_SYNTAX
from Utilities.common_options import THREADS

OPTIONS = [
    Option("BitstreamFile", str, "", "input bitstream", "b"),
    Option("ReconFile", str, "", "output pictures (.yuv 4:2:0 / .y4m / .rgb 4:4:4); empty = none", "o"),
    Option("OutputBaseLayer", str, "", "decoded base-layer pictures (.yuv / .y4m / .rgb)"),
    Option("TraceFile", str, "", "syntax trace ('name  ue(v) : value'): SEI messages and base-layer headers"),
    Option("OplFile", str, "", "output picture log (CSV: one line per picture with its MD5)"),
    flag("SEIDecodedPictureHash", 1, "check generated pictures (and the base layer) against their MD5 SEI"),
    Option("ModelFile", str, "", "integer model file to use instead of the shipped one the bitstream names"),
    flag("FloatInference", 0, "generate with the float network the integer model was converted from "
         "(non-normative; generated pictures are then not checked against their MD5 SEI)"),
    Option("FloatModelFile", str, "", "float model file for FloatInference (empty = the shipped one)"),
    BASE_LAYER_CODEC,
    GFV_SEI_SYNTAX,
    flag("ParseOnly", 0, "parse and trace the syntax only (any GFV SEI messages, e.g. of other encoders); "
         "no pictures"),
    Option("OutputFrameRate", float, 0.0, "frame rate written to .y4m headers (0 = 25)", "fr"),
    THREADS,
    flag("Verbose", 1, "one line per picture"),
]

OPL_COLUMNS = ["picture", "kind", "base_layer_bits", "gfv_sei_bits", "hash_sei_bits", "residual_scale", "md5_r", "md5_g", "md5_b", "md5_check"]


def run_parse_only(cfg, data) -> int:
    from DecoderLib.decoder import DecodingStopped, parse_stream
    with TraceFile(cfg.TraceFile) as trace:
        try:
            st = parse_stream(data, cfg.BaseLayerCodec, cfg.GfvSeiSyntax, trace)
        except DecodingStopped as e:
            print(f"DecoderApp: error: parsing stopped after {e.pictures} access unit(s): {e}", file=sys.stderr)
            return 1
    print(f"DecoderApp: parsed {st.access_units} access units, {st.gfv_messages} GFV SEI messages "
          f"({cfg.GfvSeiSyntax} syntax); {st.bits.total} bits (base layer {st.bits.base}, GFV SEI {st.bits.gfv}, "
          f"hash SEI {st.bits.hash})")
    return 0


class _Outputs:
    """The output files of one run: created at the first picture, committed at the end (a bitstream that
    stopped early keeps its intact pictures, an unexpected error leaves nothing)."""

    def __init__(self, cfg):
        self.cfg, self.writers, self.opl = cfg, {}, None

    def picture(self, pic) -> None:
        from Utilities.video_io import VideoWriter
        cfg, w = self.cfg, self.writers
        h, wd = pic.out.rgb.shape[1:]
        rate = cfg.OutputFrameRate or 25
        if cfg.ReconFile and "rec" not in w:
            w["rec"] = VideoWriter(cfg.ReconFile, wd, h, rate)
        if cfg.OutputBaseLayer and "bl" not in w:
            w["bl"] = VideoWriter(cfg.OutputBaseLayer, wd, h, rate)
        if "rec" in w:
            w["rec"].write(pic.out.yuv if pic.out.yuv is not None else pic.out.rgb)
        if "bl" in w and pic.base_picture is not None:
            w["bl"].write(pic.base_picture)
        if self.opl is not None:
            scale = "" if pic.out.residual_scale is None else pic.out.residual_scale
            self.opl.writerow([pic.out.index, pic.out.kind.value, pic.bits.base, pic.bits.gfv, pic.bits.hash, scale,
                               *[d.hex() for d in pic.md5], pic.md5_check])

    def open_opl(self):
        from Utilities.files import OutputFile
        if self.cfg.OplFile:
            self.opl_file = OutputFile(self.cfg.OplFile, "w", "output picture log", newline="")
            self.opl = csv.writer(self.opl_file)
            self.opl.writerow(OPL_COLUMNS)

    def close(self, ok: bool) -> None:
        for wr in self.writers.values():
            wr.close(ok)
        if self.opl is not None:
            self.opl_file.close(ok)


def run(cfg) -> int:
    import torch

    from CommonLib.syntax.bit_accounting import PictureBits
    from CommonLib.generation.picture_log import picture_line
    from DecoderLib.decoder import MD5_ERROR, DecodingStopped, HdacHfDecoder, read_bitstream

    if not cfg.BitstreamFile:
        raise InputError("no bitstream given (-b FILE)")
    if cfg.Threads:
        torch.set_num_threads(cfg.Threads)
    data = read_bitstream(cfg.BitstreamFile)
    if cfg.ParseOnly:
        return run_parse_only(cfg, data)
    t0 = time.time()
    mismatches = stopped = 0
    n, bits = 0, PictureBits()
    outputs = _Outputs(cfg)
    ok = False
    with TraceFile(cfg.TraceFile) as trace:
        try:
            dec = HdacHfDecoder(cfg.BaseLayerCodec, cfg.ModelFile, bool(cfg.SEIDecodedPictureHash), trace,
                                float_inference=bool(cfg.FloatInference), float_model_file=cfg.FloatModelFile,
                                gfv_syntax=cfg.GfvSeiSyntax, log=lambda s: print(f"DecoderApp: {s}"))
            outputs.open_opl()
            try:
                for pic in dec.decode(data):
                    outputs.picture(pic)
                    mismatches += pic.md5_check == MD5_ERROR
                    if cfg.Verbose:
                        print(picture_line(pic.out.index, pic.out.kind, pic.bits, pic.out.residual_scale, pic.md5,
                                           pic.md5_check))
                    n += 1
                    bits += pic.bits
            except DecodingStopped as e:
                stopped = 1
                print(f"DecoderApp: error: decoding stopped after {e.pictures} intact picture(s): {e}",
                      file=sys.stderr)
            ok = True
        finally:
            outputs.close(ok)
    dt = time.time() - t0
    print(f"DecoderApp: {n} pictures decoded in {dt:.2f} s ({n / dt if dt else 0:.2f} pictures/s); "
          f"{bits.total} bits (base layer {bits.base}, GFV SEI {bits.gfv}, hash SEI {bits.hash})")
    if cfg.ReconFile and n:
        print(f"DecoderApp: wrote {cfg.ReconFile}" + (" (intact pictures only)" if stopped else ""))
    if mismatches:
        print(f"DecoderApp: error: {mismatches} picture(s) failed the MD5 check", file=sys.stderr)
    return 1 if (mismatches or stopped) else 0


def main(argv=None) -> int:
    return run_app("DecoderApp", OPTIONS, argv, run)


if __name__ == "__main__":
    sys.exit(main())
