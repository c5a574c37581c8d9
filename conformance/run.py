#!/usr/bin/env python3
"""HDAC-HF conformance runner (doc/conformance.md).

    python conformance/run.py [--streams A,B] [--cross-check]

Decodes every conformance bitstream with the reference decoder, compares the
MD5 of every output picture and of every decoded base-layer picture with the
stored ones (bitstreams/<name>.md5), prints one line per stream (OK /
MISMATCH / ERROR and the picture count) and exits 1 on any failure.
``--cross-check`` then repeats the whole check in separate processes under
other thread counts, ATen CPU kernels (ATEN_CPU_CAPABILITY), oneDNN
instruction sets (ONEDNN_MAX_CPU_ISA) and with oneDNN off.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from conformance_lib import BITSTREAMS, codec, gfv_syntax, load_streams, model_path, read_md5_file


def check_stream(stream: dict) -> tuple[str, int, str]:
    from Utilities.errors import HdacError
    from conformance_lib import decode_md5s
    from DecoderLib.decoder import DecodingStopped
    name = stream["name"]
    bs, md5 = (os.path.join(BITSTREAMS, f"{name}{ext}") for ext in (".bin", ".md5"))
    if not os.path.isfile(bs) or not os.path.isfile(md5):
        return "ERROR", 0, "bitstream or MD5 file missing"
    expected = read_md5_file(md5)
    try:
        got = decode_md5s(bs, model_path(stream), gfv_syntax(stream), codec(stream))
    except DecodingStopped as e:
        return "ERROR", e.pictures, str(e)
    except HdacError as e:
        return "ERROR", 0, str(e)
    if len(got) != len(expected):
        return "MISMATCH", len(got), f"{len(got)} pictures decoded, {len(expected)} expected"
    for i, (g, e) in enumerate(zip(got, expected)):
        if g[2] != e[2]:
            return "MISMATCH", len(got), f"picture {i}: base-layer picture MD5 differs"
        if g[0] != e[0] or g[1] != e[1]:
            return "MISMATCH", len(got), f"picture {i}: output picture MD5 differs"
    return "OK", len(got), ""


def run_all(streams, label: str) -> bool:
    ok = True
    print(f"{'stream':<26} {'pictures':>8}  result   ({label})")
    for s in streams:
        t0 = time.time()
        res, n, why = check_stream(s)
        ok &= res == "OK"
        print(f"{s['name']:<26} {n:>8}  {res:<8} {time.time() - t0:5.1f} s  {why}", flush=True)
    return ok


def cpu_capabilities() -> list[str]:
    flags = open("/proc/cpuinfo").read() if os.path.exists("/proc/cpuinfo") else ""
    caps = ["default"]
    if " avx2" in flags:
        caps.append("avx2")
    if " avx512f" in flags and " avx512bw" in flags:
        caps.append("avx512")
    return caps


def variants() -> list[tuple[str, dict, list]]:
    v = [("1 thread", {"OMP_NUM_THREADS": "1"}, ["--threads", "1"]),
         ("2 threads", {}, ["--threads", "2"])]
    v += [(f"ATEN_CPU_CAPABILITY={c}", {"ATEN_CPU_CAPABILITY": c}, []) for c in cpu_capabilities()]
    v += [("ONEDNN_MAX_CPU_ISA=SSE41", {"ONEDNN_MAX_CPU_ISA": "SSE41"}, []),
          ("oneDNN off (im2col + BLAS)", {}, ["--no-onednn"])]
    return v


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--streams", default="", help="comma-separated stream names (default: all)")
    ap.add_argument("--cross-check", action="store_true", help="repeat under thread / kernel variants")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = default)")
    ap.add_argument("--no-onednn", action="store_true", help="disable oneDNN (mkldnn) convolutions")
    ap.add_argument("--label", default="this process", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    streams = load_streams(a.streams)
    import torch
    if a.threads:
        torch.set_num_threads(a.threads)
    if a.no_onednn:
        torch.backends.mkldnn.enabled = False
    ok = run_all(streams, a.label)
    if a.cross_check:
        results = []
        for label, env, extra in variants():
            cmd = [sys.executable, os.path.abspath(__file__), "--streams", ",".join(s["name"] for s in streams),
                   "--label", label, *extra]
            r = subprocess.run(cmd, env=dict(os.environ, **env), capture_output=True, text=True)
            print(r.stdout, end="", flush=True)
            if r.returncode != 0 and r.stderr:
                print(r.stderr.strip().splitlines()[-1], file=sys.stderr)
            results.append((label, r.returncode == 0))
        print("\ncross-check:")
        for label, good in results:
            print(f"  {label:<30} {'OK' if good else 'MISMATCH'}")
        ok &= all(g for _, g in results)
    print(f"conformance: {'all streams OK' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
