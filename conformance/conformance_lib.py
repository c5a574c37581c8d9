"""Shared by conformance/run.py and conformance/generate.py: the stream list and decoding to MD5s."""
from __future__ import annotations

import os

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

import yaml  # noqa: E402

BITSTREAMS = os.path.join(HERE, "bitstreams")


def load_streams(only: str = "") -> list[dict]:
    with open(os.path.join(HERE, "streams.yaml")) as f:
        streams = yaml.safe_load(f)
    if only:
        wanted = [s for s in only.split(",") if s]
        names = {s["name"] for s in streams}
        unknown = [w for w in wanted if w not in names]
        if unknown:
            raise SystemExit(f"conformance: error: unknown stream(s) {', '.join(unknown)}")
        streams = [s for s in streams if s["name"] in wanted]
    return streams


def model_path(stream: dict) -> str:
    """The model file of a stream ('' = the shipped one the bitstream names)."""
    m = stream.get("model", "")
    if m.startswith("conformance/"):
        return os.path.join(ROOT, m)
    return ""


def gfv_syntax(stream: dict) -> str:
    """The GFV SEI syntax version of a stream (streams.yaml ``gfv_syntax``; default vtm)."""
    return stream.get("gfv_syntax", "vtm")


def codec(stream: dict) -> str:
    """The base-layer codec of a stream (streams.yaml ``codec``: hevc or vvc; default hevc)."""
    return stream.get("codec", "hevc")


def decode_md5s(bitstream: str, model_file: str = "", syntax: str = "vtm",
                base_codec: str = "hevc") -> list[tuple[str, str, str]]:
    """Per picture (type, MD5 of the output picture's R,G,B planes, MD5 of the decoded base-layer Y,Cb,Cr planes
    at 8 bits, doc/decoding_process.md clause 1)."""
    from CommonLib.syntax.picture_hash_sei import md5_planes
    from DecoderLib.decoder import HdacHfDecoder, read_bitstream
    dec = HdacHfDecoder(base_codec, model_file, True, gfv_syntax=syntax)
    out = []
    for pic in dec.decode(read_bitstream(bitstream)):
        kind = "K" if pic.out.is_key else "D" if pic.out.derived else ("F" if pic.out.fusion else "A")
        out.append((kind, ",".join(d.hex() for d in md5_planes(list(pic.out.rgb))),
                    ",".join(d.hex() for d in md5_planes(pic.base_picture.planes()))))
    return out


def read_md5_file(path: str) -> list[tuple[str, str, str]]:
    rows = []
    with open(path) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                _, kind, gen, base = line.split()
                rows.append((kind, gen, base))
    return rows


def write_md5_file(path: str, rows, header: str) -> None:
    from Utilities.files import write_text
    lines = [header, "# picture type(K key / F fused / A animation-only / D fused, derived keypoints) md5(R,G,B of the output picture) "
             "md5(Y,Cb,Cr of the decoded base-layer picture)\n"]
    lines += [f"{i} {kind} {gen} {base}\n" for i, (kind, gen, base) in enumerate(rows)]
    write_text(path, "".join(lines), "MD5 file")
