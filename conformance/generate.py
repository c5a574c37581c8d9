#!/usr/bin/env python3
"""Regenerates the conformance bitstreams and their stored MD5s (doc/conformance.md).

    python conformance/generate.py --overwrite [--streams A,B] [--make-models]
        [--hm-encoder TAppEncoder] [--vtm-encoder EncoderApp] [--vvenc-encoder vvencFFapp]

Refuses to replace existing files without ``--overwrite``; the tests never
run it. For each stream of streams.yaml: EncoderApp with cfg/encoder.yaml and
the stream's options on the embedded clip, then the reference decoder, whose
output must match the encoder's MD5 SEIs; writes <name>.bin, <name>.md5 (MD5
of every output and base-layer picture) and <name>.txt (the description).
``--make-models`` (re)creates the tiny conformance models (random weights of a
fixed seed, calibrated on the embedded clip); a new model changes every MD5 of
the streams that use it.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shlex
import subprocess
import sys

from conformance_lib import BITSTREAMS, HERE, ROOT, codec, gfv_syntax, load_streams, model_path, write_md5_file

GFV_SYNTAX_TEXT = {"vtm": "vtm (VTM 23.13, JVET-AM0334; doc/bitstream_syntax.md clause 3.1)",
                   "hm18": "hm18 (HM 18.0's JVET_AJ0207_GFV; doc/bitstream_syntax.md clause 3.2)"}

TINY_MODELS = {
    "conf_tiny_f1_sigmoid": dict(hf_filter="highpass8", output_mode="sigmoid", hf_order="filter_warp", seed=11),
    "conf_tiny_unwarped": dict(hf_filter="laplacian4", output_mode="residual", hf_order="unwarped", seed=12),
}


def make_tiny_model(name: str, spec: dict) -> str:
    import torch
    from Utilities.app_config import resolve_resource
    from CommonLib.fixed_point.int_model_file import write_integer_model
    from CommonLib.generation.network_config import tiny_config
    from CommonLib.network.hdac_hf import HdacHfModel
    from Utilities.files import sha256_file
    from CommonLib.network.model_file import save_model
    from Utilities.video_io import VideoReader
    from TrainingLib.calibration import samples_from_pictures
    from TrainingLib.converter import convert
    from Utilities.app_config import EXAMPLE_CLIP as DEFAULT_INPUT
    cfg = tiny_config(spec["hf_filter"])
    cfg.generator.output_mode, cfg.generator.hf_order = spec["output_mode"], spec["hf_order"]
    torch.manual_seed(spec["seed"])
    model = HdacHfModel(cfg).eval()
    with torch.no_grad():
        if spec["output_mode"] == "residual":
            model.generator.final.weight.normal_(0, 0.02)
    fpath = os.path.join(HERE, "models", f"{name}.safetensors")
    save_model(model, fpath, name)
    samples = samples_from_pictures(model, [p.to_rgb() for p in VideoReader(resolve_resource(DEFAULT_INPUT)).frames(count=6)])
    layers, consts, calib = convert(model, samples)
    out = os.path.join(HERE, "models", f"{name}.hfim")
    sha = write_integer_model(out, name, cfg, layers, consts, model.kp_detector.state_dict(), sha256_file(fpath),
                              {"conformance_model": True, "seed": spec["seed"], "weight_bits": 8,
                               "calibration": "first 6 pictures of the embedded clip, source as base layer",
                               "activation_q": calib["q"]})
    print(f"generate: {out} sha256 {sha}")
    return out


def git_commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "ReferenceSoftware", "cfg"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        return head + (" (with uncommitted changes)" if dirty else "")
    except OSError:
        return "unknown"


#: the offline base-layer encoders: BaseLayerEncoder value -> (binary option, cfg option, placeholder in the
#: description's command line)
OFFLINE_ENCODERS = {"hm": ("--HmEncoder", "--HmEncoderCfg", "<TAppEncoder>"),
                    "vtm": ("--VtmEncoder", "--VtmEncoderCfg", "<EncoderApp>"),
                    "vvenc": ("--VvencEncoder", "", "<vvencFFapp>")}


def _arg(args: list[str], name: str, default: str = "") -> str:
    return args[args.index(name) + 1] if name in args else default


def base_layer_text(stream: dict, args: list[str]) -> str:
    """What coded the base layer: x265 (PyAV, preset and parameters), HM or VTM (the binary's SHA-256 and cfg), or
    VVenC (the binary's SHA-256, preset and options)."""
    import av
    from EncoderLib.base_layer_settings import DEFAULT_VVENC_PRESET, DEFAULT_X265_PARAMS, DEFAULT_X265_PRESET
    from Utilities.files import sha256_file
    encoder = _arg(args, "--BaseLayerEncoder", "x265")
    if encoder in ("hm", "vtm"):
        from EncoderLib.jvet_encoder import jvet_encoder
        name = {"hm": "HM", "vtm": "VTM"}[encoder]
        e = jvet_encoder(name, _arg(args, OFFLINE_ENCODERS[encoder][0]), _arg(args, OFFLINE_ENCODERS[encoder][1]))
        return (f"{name} {os.path.basename(e.binary)} sha256 {sha256_file(e.binary)}, -c {os.path.basename(e.cfg_file)} "
                f"(sha256 {sha256_file(e.cfg_file)})")
    if encoder == "vvenc":
        from EncoderLib.vvenc_encoder import BASE_LAYER_ARGS
        binary = _arg(args, "--VvencEncoder")
        return (f"VVenC vvencFFapp sha256 {sha256_file(binary)}, --preset {_arg(args, '--VvencPreset', DEFAULT_VVENC_PRESET)} "
                f"{_arg(args, '--VvencParams')} {' '.join(BASE_LAYER_ARGS)}".replace("  ", " "))
    preset = args[args.index("--X265Preset") + 1] if "--X265Preset" in args else DEFAULT_X265_PRESET
    params = args[args.index("--X265Params") + 1] if "--X265Params" in args else DEFAULT_X265_PARAMS
    return f"x265 through PyAV {av.__version__}, preset {preset}" + (f" ({params})" if params else "")


def encoder_args(stream: dict, binaries: dict) -> list[str]:
    """EncoderApp's options for a stream (on top of cfg/encoder.yaml): streams.yaml's args, the base-layer codec,
    the GFV SEI syntax version, and the binary of an offline base-layer encoder (``binaries``: hm / vtm / vvenc
    -> path)."""
    args = [str(a) for a in stream["args"]]
    if codec(stream) != "hevc":
        args += ["--BaseLayerCodec", codec(stream)]
    if gfv_syntax(stream) != "vtm":
        args += ["--GfvSeiSyntax", gfv_syntax(stream)]
    encoder = _arg(args, "--BaseLayerEncoder", "x265")
    if encoder in OFFLINE_ENCODERS:
        if not binaries.get(encoder):
            raise SystemExit(f"generate: error: {stream['name']} needs the {encoder} encoder: give "
                             f"--{encoder}-encoder PATH")
        args += [OFFLINE_ENCODERS[encoder][0], binaries[encoder]]
    return args


def command_line(stream: dict, args: list[str], binaries: dict) -> str:
    """The EncoderApp command line of the description: shell-quoted arguments, an offline encoder's binary shown
    as <TAppEncoder>, <EncoderApp> or <vvencFFapp> (its path is the generating machine's)."""
    model = f"--ModelFile {stream['model']} " if stream.get("model") else ""
    shown = {path: OFFLINE_ENCODERS[k][2] for k, path in binaries.items() if path}
    return (f"python -m EncoderApp -c cfg/encoder.yaml {model}-b {stream['name']}.bin "
            + " ".join(shown.get(a, shlex.quote(a)) for a in args))


def generate(stream: dict, commit: str, binaries: dict) -> None:
    import av
    from CommonLib.fixed_point.int_model_file import IntegerModelFile
    from Utilities.app_config import resolve_resource
    from Utilities.app_config import EXAMPLE_CLIP as DEFAULT_INPUT
    from CommonLib.generation.model_registry import DEFAULT_HDAC_HF_MODEL as DEFAULT_MODEL
    from EncoderApp.__main__ import main as encoder_main
    from DecoderLib.decoder import HdacHfDecoder, read_bitstream
    from conformance_lib import decode_md5s
    name = stream["name"]
    model = model_path(stream) or resolve_resource(stream.get("model", DEFAULT_MODEL))
    args = encoder_args(stream, binaries)
    syntax = gfv_syntax(stream)
    base_codec = codec(stream)
    bs = os.path.join(BITSTREAMS, f"{name}.bin")
    tmp = bs + ".tmp.bin"
    argv = ["-c", os.path.join(ROOT, "cfg", "encoder.yaml"), "--ModelFile", model, "-b", tmp, "-o", "", *args,
            "--Progress", "0", "--Verbose", "0", "--Threads", "1"]
    if encoder_main(argv) != 0:
        raise SystemExit(f"generate: error: EncoderApp failed for {name}")
    # the decoder must reproduce the encoder's generated-picture MD5 SEIs where present
    dec = HdacHfDecoder(base_codec, model_path(stream), True, gfv_syntax=syntax)
    for pic in dec.decode(read_bitstream(tmp)):
        if pic.md5_expected is not None and pic.md5 != pic.md5_expected:
            raise SystemExit(f"generate: error: {name} picture {pic.out.index}: decoder != encoder")
    rows = decode_md5s(tmp, model_path(stream), syntax, base_codec)
    os.replace(tmp, bs)
    imf = IntegerModelFile(model)
    data = open(bs, "rb").read()
    cmd = command_line(stream, args, binaries)
    profile = {"hevc": "HEVC Main profile", "vvc": "VVC Main 10 profile"}[base_codec]
    decode_opts = (f" --ModelFile {stream['model']}" if model_path(stream) else "") + \
        (f" --GfvSeiSyntax {syntax}" if syntax != "vtm" else "") + \
        (f" --BaseLayerCodec {base_codec}" if base_codec != "hevc" else "")
    kinds = "".join(r[0] for r in rows)
    desc = f"""Bitstream file name:   {name}.bin
Specification:         HDAC-HF GFV SEI (doc/bitstream_syntax.md), integer decoding process
                       (doc/integer_decoding_process.md); base layer {profile}
Features exercised:    {stream['features']}
GFV SEI syntax:        {GFV_SYNTAX_TEXT[syntax]}
Base layer:            {base_layer_text(stream, args)}
Picture size:          256x256, 8 bit; output pictures R'G'B' 4:4:4 (MD5 per plane R, G, B)
Frames:                {len(rows)} (K key / F fused / A animation-only / D derived keypoints: {kinds})
Frame rate:            30 fps (embedded clip {DEFAULT_INPUT})
Model:                 {imf.model_name}, integer model sha256 {imf.sha256}
                       ({stream.get('model', DEFAULT_MODEL)}; converted from float model sha256 {imf.source_model_sha256})
Generating software:   HDAC-HF reference software 0.1.0, commit {commit}
Command line:          {cmd}
Bitstream size:        {len(data)} bytes, MD5 {hashlib.md5(data).hexdigest()}
Decoding:              python -m DecoderApp -b {name}.bin{decode_opts}
MD5 file:              {name}.md5 (output and base-layer picture MD5 of every picture)
"""
    from Utilities.files import write_text
    write_text(os.path.join(BITSTREAMS, f"{name}.txt"), desc, "conformance description")
    write_md5_file(os.path.join(BITSTREAMS, f"{name}.md5"), rows,
                   f"# {name}: MD5s of the reference decoder's output (conformance/generate.py)\n")
    print(f"generate: {name}: {len(rows)} pictures, {len(data)} bytes")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--overwrite", action="store_true", help="replace existing bitstreams and MD5 files")
    ap.add_argument("--streams", default="", help="comma-separated stream names (default: all)")
    ap.add_argument("--make-models", action="store_true", help="(re)create the tiny conformance models")
    ap.add_argument("--hm-encoder", default="", help="HM's TAppEncoder, for the streams with an HM base layer")
    ap.add_argument("--vtm-encoder", default="", help="VTM's EncoderApp, for the streams with a VTM base layer")
    ap.add_argument("--vvenc-encoder", default="", help="VVenC's vvencFFapp, for the streams with a VVenC base layer")
    a = ap.parse_args(argv)
    streams = load_streams(a.streams)
    import torch
    torch.set_num_threads(1)
    for name, spec in TINY_MODELS.items():
        path = os.path.join(HERE, "models", f"{name}.hfim")
        if a.make_models:
            if os.path.exists(path) and not a.overwrite:
                print(f"generate: error: {path} exists; add --overwrite to replace it", file=sys.stderr)
                return 1
            make_tiny_model(name, spec)
        elif not os.path.exists(path) and any(s.get("model", "").endswith(f"{name}.hfim") for s in streams):
            print(f"generate: error: {path} is missing; create it with --make-models", file=sys.stderr)
            return 1
    existing = [s["name"] for s in streams if os.path.exists(os.path.join(BITSTREAMS, f"{s['name']}.md5"))]
    if existing and not a.overwrite:
        print(f"generate: error: {len(existing)} stream(s) exist ({', '.join(existing[:3])}...); "
              "add --overwrite to regenerate their stored MD5s", file=sys.stderr)
        return 1
    commit = git_commit()
    for s in streams:
        generate(s, commit, {"hm": a.hm_encoder, "vtm": a.vtm_encoder, "vvenc": a.vvenc_encoder})
    return 0


if __name__ == "__main__":
    sys.exit(main())
