"""Coverage-guided fuzzing of the decoder's parsers and of the whole decoder (atheris / libFuzzer).

    python -m tools.fuzz TARGET [--Runs N] [--MaxSeconds S] [--Jobs 1] [--Corpus DIR] [--Artifacts DIR]
    python -m tools.fuzz --MakeCorpus          # (re)write the seed corpus from the conformance streams
    python -m tools.fuzz --Replay DIR TARGET   # run every file of DIR through TARGET once (regressions)
    python -m tools.fuzz --Replay DIR TARGET --Coverage 1   # ... and the line coverage of the harness's modules

Targets (one harness each):

* ``gfv_sei_vtm``, ``gfv_sei_hm18``: one GFV SEI payload through ``GfvState.decode_payload`` in that syntax;
* ``access_units``: an Annex-B byte stream split into access units, every SEI message parsed
  (``parse_access_unit_sei``, GFV payloads in the VTM syntax) and every access unit's bits accounted;
* ``slice_qp``: the HEVC parameter sets and slice segment headers of a byte stream (``SliceQpParser``);
* ``vvc_slice_qp``: the VVC parameter sets, picture headers and slice headers of a byte stream (VVC
  ``SliceQpParser``), seeded with the VVC conformance streams;
* ``model_file``: bytes as an integer model file (``IntegerModelFile`` and its network);
* ``decoder``: a whole stream through ``HdacHfDecoder`` with the conformance-only model
  ``conf_tiny_f1_sigmoid`` (seeded with short conformance streams; pictures are generated).

What counts as a crash: any exception other than the project's own errors (``HdacError``: one-line messages
in the apps), an input slower than ``--Timeout`` seconds, memory above ``--RssLimitMb``. libFuzzer keeps each
crashing input in ``--Artifacts``; a crash found and fixed is kept under ``tests/fuzz_regressions/<target>/``
and replayed by the test suite.
"""
from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "tools", "fuzz_corpus")
REGRESSIONS = os.path.join(ROOT, "tests", "fuzz_regressions")
CONFORMANCE = os.path.join(ROOT, "conformance")
DECODER_MODEL = os.path.join(CONFORMANCE, "models", "conf_tiny_f1_sigmoid.hfim")
MAX_DECODED_PICTURES = 6


def _gfv(syntax: str):
    from CommonLib.syntax.keypoint_coding import GfvState

    def one(data: bytes) -> None:
        # input = n, then one payload (n = 0) or two (the first n bytes, the rest) through one state: the
        # second may predict from the first
        state = GfvState(syntax)
        if not data:
            return
        n = data[0]
        for part in ([data[1:]] if n == 0 else [data[1:1 + n], data[1 + n:]]):
            _expected(state.decode_payload, part)
    return one


def _access_units(data: bytes) -> None:
    from CommonLib.syntax.access_unit_sei import parse_access_unit_sei
    from CommonLib.syntax.access_units import split_access_units
    from CommonLib.syntax.bit_accounting import picture_bits
    from CommonLib.syntax.keypoint_coding import GfvState
    aus = _expected(split_access_units, data, "hevc")
    if aus is None:
        return
    state = GfvState("vtm")
    for au in aus:
        _expected(parse_access_unit_sei, au, au.index, state, io.StringIO())
        _expected(picture_bits, au)


def _slice_qp(codec: str):
    from CommonLib.syntax.access_units import split_access_units
    from CommonLib.syntax.slice_qp import slice_qp_parser

    def one(data: bytes) -> None:
        aus = _expected(split_access_units, data, codec)
        if aus is None:
            return
        parser = slice_qp_parser(codec, io.StringIO())
        for au in aus:
            _expected(parser.access_unit, au.nal_units, au.index)
    return one


def _model_file(data: bytes) -> None:
    from CommonLib.fixed_point.int_model_file import IntegerModelFile
    with tempfile.NamedTemporaryFile(suffix=".hfim") as f:
        f.write(data)
        f.flush()
        imf = _expected(IntegerModelFile, f.name)
        if imf is not None:
            _expected(imf.network)


def _decoder(data: bytes) -> None:
    from DecoderLib.decoder import HdacHfDecoder
    dec = HdacHfDecoder("hevc", DECODER_MODEL, True)

    def run():
        for i, _ in enumerate(dec.decode(data)):
            if i + 1 >= MAX_DECODED_PICTURES:
                break
    _expected(run)


TARGETS = {"gfv_sei_vtm": lambda: _gfv("vtm"), "gfv_sei_hm18": lambda: _gfv("hm18"),
           "access_units": lambda: _access_units, "slice_qp": lambda: _slice_qp("hevc"),
           "vvc_slice_qp": lambda: _slice_qp("vvc"),
           "model_file": lambda: _model_file, "decoder": lambda: _decoder}


#: the modules each harness is about (``--Coverage``: their line coverage by a replayed corpus)
HARNESS_MODULES = {
    "gfv_sei_vtm": ["CommonLib.syntax.gfv_sei", "CommonLib.syntax.keypoint_coding", "CommonLib.syntax.bit_io"],
    "gfv_sei_hm18": ["CommonLib.syntax.gfv_sei", "CommonLib.syntax.keypoint_coding", "CommonLib.syntax.bit_io"],
    "access_units": ["CommonLib.syntax.access_units", "CommonLib.syntax.access_unit_sei",
                     "CommonLib.syntax.sei_message", "CommonLib.syntax.nal_unit", "CommonLib.syntax.bit_accounting",
                     "CommonLib.syntax.picture_hash_sei"],
    "slice_qp": ["CommonLib.syntax.hevc_slice_qp", "CommonLib.syntax.nal_unit"],
    "vvc_slice_qp": ["CommonLib.syntax.vvc_slice_qp", "CommonLib.syntax.nal_unit"],
    "model_file": ["CommonLib.fixed_point.int_model_file"],
    "decoder": ["DecoderLib.decoder", "CommonLib.generation.picture_reconstruction"],
}


def coverage_of(directory: str, target: str) -> list:
    """Replays ``directory`` through ``target`` under coverage.py: [(module, statements, missed)] of the
    harness's modules."""
    import importlib

    import coverage
    cov = coverage.Coverage(data_file=None, include=[os.path.join(ROOT, "ReferenceSoftware", "*")])
    cov.start()                     # before the imports, so that module-level lines count as run
    try:
        files = {m: importlib.import_module(m).__file__ for m in HARNESS_MODULES[target]}
        replay(directory, target)
    finally:
        cov.stop()
    out = []
    for m, f in files.items():
        _, statements, _, missing, _ = cov.analysis2(f)
        out.append((m, len(statements), len(missing)))
    return out


def _expected(fn, *args):
    """Call ``fn``; the project's own errors are the expected outcome of bad input, anything else escapes."""
    from Utilities.errors import HdacError
    try:
        return fn(*args)
    except HdacError:
        return None


# ------------------------------------------------------------------------------------------------ corpus
def make_corpus() -> dict:
    """Seeds from the conformance streams: GFV SEI payloads of both syntaxes, the first access units of streams,
    a conformance model, short streams for the decoder. Returns files written per target."""
    import yaml

    from CommonLib.syntax.access_units import split_access_units
    from CommonLib.syntax.sei_message import GENERATIVE_FACE_VIDEO, parse_sei_nal_unit
    from CommonLib.syntax import nal_unit as nu
    streams = yaml.safe_load(open(os.path.join(CONFORMANCE, "streams.yaml")))
    written = {t: 0 for t in TARGETS}

    def put(target, name, data):
        d = os.path.join(CORPUS, target)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
        written[target] += 1

    for s in streams:
        name = s["name"]
        data = open(os.path.join(CONFORMANCE, "bitstreams", name + ".bin"), "rb").read()
        codec = s.get("codec", "hevc")
        aus = split_access_units(data, codec)
        syntax = s.get("gfv_syntax", "vtm")
        payloads = []
        for au in aus:
            for nal, t in zip(au.nal_units, au.types):
                if t in (nu.PREFIX_SEI[codec], nu.SUFFIX_SEI[codec]):
                    payloads += [p for pt, p in parse_sei_nal_unit(nal, codec)[1] if pt == GENERATIVE_FACE_VIDEO]
        for i, p in enumerate(payloads[:3]):
            pair = i and len(payloads[0]) < 256
            put(f"gfv_sei_{syntax}", f"{name}_{i}", bytes([len(payloads[0])]) + payloads[0] + p if pair else
                bytes([0]) + p)
        head = b"".join(au.annexb() for au in aus[:3])
        if codec == "vvc":
            put("vvc_slice_qp", name, head)
            continue
        put("access_units", name, head)
        put("slice_qp", name, head)
        if s.get("model", "").endswith(os.path.basename(DECODER_MODEL)):
            put("decoder", name, b"".join(au.annexb() for au in aus[:4]))
            put("decoder", name + "_2", b"".join(au.annexb() for au in aus[:2]))
    put("model_file", "conf_tiny_f1_sigmoid.hfim", open(DECODER_MODEL, "rb").read())
    return written


# ------------------------------------------------------------------------------------------------ running
def replay(directory: str, target: str) -> int:
    """Every file of ``directory`` through ``target`` once; returns the number of files."""
    one = TARGETS[target]()
    n = 0
    for name in sorted(os.listdir(directory)):
        with open(os.path.join(directory, name), "rb") as f:
            one(f.read())
        n += 1
    return n


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("target", nargs="?", choices=sorted(TARGETS))
    ap.add_argument("--Runs", type=int, default=10000, help="inputs to run (-runs)")
    ap.add_argument("--MaxSeconds", type=int, default=0, help="stop after this many seconds (-max_total_time)")
    ap.add_argument("--Timeout", type=int, default=20, help="seconds one input may take (-timeout)")
    ap.add_argument("--RssLimitMb", type=int, default=3072, help="memory limit (-rss_limit_mb)")
    ap.add_argument("--Corpus", default="", help="working corpus folder (default: a copy of the seeds in a "
                    "temporary folder; the seeds are never modified)")
    ap.add_argument("--Artifacts", default="", help="folder for crashing inputs (default: a temporary folder)")
    ap.add_argument("--Seed", type=int, default=1, help="libFuzzer -seed")
    ap.add_argument("--MakeCorpus", action="store_true", help="write the seed corpus from the conformance streams")
    ap.add_argument("--Replay", default="", help="run every file of this folder through TARGET once")
    ap.add_argument("--Coverage", type=int, default=0, help="with --Replay: line coverage of the harness's modules "
                    "(needs the coverage package)")
    a = ap.parse_args(argv)
    if a.MakeCorpus:
        print("fuzz: seed corpus written:", make_corpus())
        return 0
    if not a.target:
        ap.error("a TARGET is needed")
    if a.Replay and a.Coverage:
        rows = coverage_of(a.Replay, a.target)
        for m, n, miss in rows:
            print(f"fuzz: {a.target}: {m}: {n - miss}/{n} lines ({100 * (n - miss) / max(n, 1):.1f} %)")
        n, miss = sum(r[1] for r in rows), sum(r[2] for r in rows)
        print(f"fuzz: {a.target}: {len(os.listdir(a.Replay))} inputs cover {n - miss}/{n} lines "
              f"({100 * (n - miss) / max(n, 1):.1f} %) of its modules")
        return 0
    if a.Replay:
        print(f"fuzz: replayed {replay(a.Replay, a.target)} input(s) through {a.target} without a crash")
        return 0
    import shutil

    import atheris
    import numpy  # noqa: F401  (imported first: only the project's own modules are instrumented)
    import torch  # noqa: F401
    with atheris.instrument_imports(include=["CommonLib", "DecoderLib"]):
        import CommonLib.syntax.access_unit_sei, CommonLib.syntax.access_units, CommonLib.syntax.bit_accounting  # noqa: E401,F401
        import CommonLib.syntax.hevc_slice_qp, CommonLib.syntax.keypoint_coding, CommonLib.syntax.gfv_sei  # noqa: E401,F401
        import CommonLib.syntax.vvc_slice_qp, CommonLib.syntax.slice_qp  # noqa: E401,F401
        import CommonLib.syntax.sei_message, CommonLib.syntax.nal_unit, CommonLib.syntax.bit_io  # noqa: E401,F401
        import CommonLib.fixed_point.int_model_file, CommonLib.syntax.picture_hash_sei  # noqa: E401,F401
        import DecoderLib.decoder, CommonLib.generation.picture_reconstruction  # noqa: E401,F401
    one = TARGETS[a.target]()
    work = a.Corpus or tempfile.mkdtemp(prefix=f"fuzz_{a.target}_")
    seeds = os.path.join(CORPUS, a.target)
    if not a.Corpus and os.path.isdir(seeds):
        for name in os.listdir(seeds):
            shutil.copy(os.path.join(seeds, name), work)
    artifacts = a.Artifacts or tempfile.mkdtemp(prefix=f"fuzz_{a.target}_artifacts_")
    os.makedirs(artifacts, exist_ok=True)
    args = [sys.argv[0], work, f"-runs={a.Runs}", f"-timeout={a.Timeout}", f"-rss_limit_mb={a.RssLimitMb}",
            f"-seed={a.Seed}", f"-artifact_prefix={artifacts}{os.sep}", "-print_final_stats=1"]
    if a.MaxSeconds:
        args.append(f"-max_total_time={a.MaxSeconds}")
    print(f"fuzz: {a.target}: corpus {work}, crashing inputs to {artifacts}", flush=True)
    atheris.Setup(args, one)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main())
