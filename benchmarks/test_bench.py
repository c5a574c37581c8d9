"""Speed benchmarks (pytest-benchmark): python -m pytest benchmarks --benchmark-only

Not part of the test suite (tests/ never times anything). Figures are
reported in the issue notes and doc/model_card.md.
"""
import os

import numpy as np
import pytest
import torch

from CommonLib.generation.network_config import preset
from CommonLib.network.hdac_hf import HdacHfModel

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def example_picture():
    from Utilities.app_config import EXAMPLE_CLIP, resolve_resource
    from Utilities.video_io import VideoReader
    return next(VideoReader(resolve_resource(EXAMPLE_CLIP)).frames(5, 1)).to_rgb()


@pytest.fixture(scope="module", params=["small", "paper"])
def model(request):
    torch.manual_seed(0)
    return request.param, HdacHfModel(preset(request.param)).eval()


def test_decoder_float_generation(benchmark, model):
    """One generated 256x256 picture (dense motion + generator), float32, default threads."""
    name, m = model
    x = torch.rand(1, 3, 256, 256)
    kp = torch.rand(1, 10, 2) * 2 - 1
    benchmark.extra_info["config"] = name
    benchmark.pedantic(lambda: m.generate(x, x, kp, kp * 0.9), rounds=3 if name == "paper" else 10, warmup_rounds=1)


def test_keypoint_detection_small(benchmark):
    m = HdacHfModel(preset("small")).eval()
    x = torch.rand(1, 3, 256, 256)
    benchmark(lambda: m.detect(x))


TRAINING_VARIANTS = {
    # name: (crop, precision, frozen detector, batch)
    "full256_fp32_detector": (256, "fp32", False, 4),       # the recipe of cfg/train.yaml
    "full256_fp32_frozen": (256, "fp32", True, 4),
    "crop128_fp32_frozen": (128, "fp32", True, 8),
    "crop128_bf16_frozen": (128, "bf16", True, 8),
    "crop192_bf16_frozen": (192, "bf16", True, 8),
}


@pytest.mark.parametrize("variant", list(TRAINING_VARIANTS))
def test_training_step_small(benchmark, variant):
    """One optimisation step of the small network: samples/s = batch / time (extra_info). The full-picture
    variant with a trained detector is the recipe of cfg/train.yaml; the others what TrainerApp's CropSize,
    Precision and FreezeDetector options make of it (doc/model_card.md, training speed)."""
    import contextlib
    from TrainingLib.losses import equivariance_loss, reconstruction_loss
    crop, precision, frozen, batch = TRAINING_VARIANTS[variant]
    torch.manual_seed(0)
    m = HdacHfModel(preset("small")).train().to(memory_format=torch.channels_last)
    if frozen:
        m.kp_detector.eval().requires_grad_(False)
    opt = torch.optim.Adam([p for p in m.parameters() if p.requires_grad], lr=2e-4, betas=(0.5, 0.999))
    b = [torch.rand(batch, 3, crop, crop).contiguous(memory_format=torch.channels_last) for _ in range(3)]
    kps = [torch.rand(batch, 10, 2) * 2 - 1 for _ in range(2)]
    lam = torch.ones(batch)
    ctx = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if precision == "bf16" else contextlib.nullcontext

    def step():
        with ctx():
            kk, kt = kps if frozen else (m.kp_detector(b[0]), m.kp_detector(b[2]))
            out, _, _ = m(b[0], b[1], kk, kt, torch.ones(batch))
        loss = reconstruction_loss(out.float(), b[2], lam)
        if not frozen:
            loss = loss + 10 * equivariance_loss(m.kp_detector, b[2], kt)
        opt.zero_grad()
        loss.backward()
        opt.step()

    benchmark.extra_info.update(batch=batch, crop=crop, precision=precision, frozen_detector=frozen)
    benchmark.pedantic(step, rounds=5, warmup_rounds=1)
    benchmark.extra_info["samples_per_s"] = batch / benchmark.stats.stats.mean


def test_colour_conversion(benchmark):
    from Utilities.colour import rgb_to_yuv420, yuv420_to_rgb
    rgb = np.random.default_rng(0).integers(0, 256, (3, 256, 256), dtype=np.uint8)
    benchmark(lambda: yuv420_to_rgb(*rgb_to_yuv420(rgb)))


def test_gfv_sei_parse(benchmark):
    from CommonLib.syntax.keypoint_coding import GfvState
    from EncoderLib.gfv_message_writer import encode_gfv_payload
    enc = GfvState()
    kp = np.random.default_rng(0).integers(-128, 128, (10, 2))
    base, _ = encode_gfv_payload(enc, 0, kp, 7, base_picture=True, uri_tag="t", uri="u")
    drv, _ = encode_gfv_payload(enc, 0, kp + 1, 7, base_picture=False, fusion_flag=1)

    def parse():
        st = GfvState()
        st.decode_payload(base)
        st.decode_payload(drv)

    benchmark(parse)


@pytest.fixture(scope="module")
def shipped():
    """The shipped HDAC-HF model (float and integer) and 3 pictures of the embedded clip."""
    import os
    from Utilities.app_config import resolve_resource
    from CommonLib.fixed_point.int_model_file import IntegerModelFile
    from CommonLib.network.model_file import load_model
    from Utilities.video_io import VideoReader
    imf = IntegerModelFile(resolve_resource("resource:models/hdac_hf_small_v2.hfim"))
    fm, _ = load_model(resolve_resource("resource:models/hdac_hf_small_v2.safetensors"))
    pics = [p.to_rgb() for p in VideoReader(resolve_resource("resource:clips/ctc01_lp_d6_256x256_30_32f.y4m")).frames(count=3)]
    kp = np.array([[10, -20], [50, 60], [-70, 30], [0, 0], [100, -100], [-30, -30], [20, 90], [-90, 10], [60, 5], [5, 60]])
    return imf.network(), fm, pics, kp


def test_decoder_generation_shipped_float(benchmark, shipped):
    """The shipped small model, float network (non-normative path), per generated picture."""
    from CommonLib.generation.float_picture_generator import FloatPictureGenerator
    _, fm, pics, kp = shipped
    g = FloatPictureGenerator(fm)
    g.set_key(pics[0], kp, 8)
    benchmark.pedantic(lambda: g.generate(kp + 5, 8, pics[1]), rounds=10, warmup_rounds=1)


def test_decoder_generation_shipped_integer(benchmark, shipped):
    """The shipped small model, normative integer process, per generated picture (key state cached, as decoded)."""
    from CommonLib.fixed_point.int_network import keypoints_q16
    net, _, pics, kp = shipped
    key = net.key_state(pics[0], keypoints_q16(kp, 8))
    benchmark.pedantic(lambda: net.generate(key, keypoints_q16(kp + 5, 8), pics[1]), rounds=10, warmup_rounds=1)


def test_decoder_generation_shipped_integer_with_key_state(benchmark, shipped):
    """As above, with the key-picture state recomputed every picture (like the float path)."""
    from CommonLib.fixed_point.int_network import keypoints_q16
    net, _, pics, kp = shipped
    benchmark.pedantic(lambda: net.generate(net.key_state(pics[0], keypoints_q16(kp, 8)), keypoints_q16(kp + 5, 8),
                                            pics[1]), rounds=10, warmup_rounds=1)


def test_residual_scaling_and_slice_qp(benchmark, shipped):
    """Per fused picture on top of the generation: SliceQpY of the access unit (PPS + slice segment header
    parsed) and the residual scaling of a 256x256 R'G'B' picture."""
    from fractions import Fraction

    from CommonLib.syntax.hevc_slice_qp import SliceQpParser
    from CommonLib.generation.residual_scaling import apply_residual_scale
    from Utilities.video_io import VideoReader
    from Utilities.app_config import resolve_resource
    from CommonLib.syntax.access_units import split_access_units
    from EncoderLib.base_layer_encoder import X265BaseLayerEncoder
    _, _, pics, _ = shipped
    enc = X265BaseLayerEncoder(256, 256, Fraction(30), 27, 44, 0, picture_hash=0)
    data = b"".join(b"".join(enc.encode(p)) for p in
                    VideoReader(resolve_resource("resource:clips/ctc01_lp_d6_256x256_30_32f.y4m")).frames(count=2))
    data += b"".join(enc.flush())
    aus = split_access_units(data, "hevc")
    parser = SliceQpParser()
    parser.access_unit(aus[0].nal_units)                  # parameter sets

    def one_picture():
        parser.access_unit(aus[1].nal_units)
        return apply_residual_scale(pics[1], pics[2], 25)
    benchmark.pedantic(one_picture, rounds=50, warmup_rounds=2)


@pytest.mark.parametrize("preset, params", [("medium", ""), ("slower", "psy-rd=0:psy-rdoq=0:aq-mode=0"),
                                            ("veryslow", "psy-rd=0:psy-rdoq=0:aq-mode=0")])
def test_x265_base_layer_encoder(benchmark, preset, params):
    """The built-in x265 base layer on the 32 pictures of the embedded clip (BaseLayerQP 50, IntraQP 27):
    pictures/s = 32 / time. The default is veryslow with psy-rd=0:psy-rdoq=0:aq-mode=0."""
    from fractions import Fraction
    from Utilities.app_config import EXAMPLE_CLIP, resolve_resource
    from Utilities.video_io import VideoReader
    from EncoderLib.base_layer_encoder import X265BaseLayerEncoder
    pics = list(VideoReader(resolve_resource(EXAMPLE_CLIP)).frames())

    def run():
        e = X265BaseLayerEncoder(256, 256, Fraction(30), 27, 50, 0, 0, preset, params)
        return [a for p in pics for a in e.encode(p)] + e.flush()
    benchmark.extra_info["pictures"] = len(pics)
    benchmark.pedantic(run, rounds=2, warmup_rounds=0)


@pytest.mark.parametrize("encoder", ["HM", "VTM", "VVenC faster", "VVenC medium", "VVenC slow"])
def test_jvet_base_layer_encoder(benchmark, encoder, tmp_path):
    """The offline base-layer encoders on the 32 pictures of the embedded clip (BaseLayerQP 50, IntraQP 27), when
    ../shared/jvet-tools is there (installed by its install.sh into a temporary folder): HM 18.0's TAppEncoder
    and VTM 23.13's EncoderApp with their JVET low-delay P cfg, VVenC 1.15 at three presets with the base layer's
    options (EncoderLib.vvenc_encoder); extra_info: pictures/s."""
    import subprocess
    from fractions import Fraction
    from Utilities.app_config import EXAMPLE_CLIP, resolve_resource
    from Utilities.video_io import VideoReader
    from EncoderLib.jvet_encoder import jvet_encoder
    from EncoderLib.vvenc_encoder import vvenc_encoder
    tools = os.path.join(os.path.dirname(ROOT), "shared", "jvet-tools", "install.sh")
    if not os.path.isfile(tools):
        pytest.skip("needs ../shared/jvet-tools")
    d = subprocess.run(["bash", tools, str(tmp_path / "jvet")], capture_output=True, text=True, check=True).stdout.strip()
    if encoder.startswith("VVenC"):
        enc = vvenc_encoder(os.path.join(d, "bin", "vvencFFapp"), encoder.split()[1])
    else:
        enc = jvet_encoder(encoder, os.path.join(d, "bin", {"HM": "TAppEncoderStatic", "VTM": "EncoderAppStatic"}[encoder]))
    yuv = tmp_path / "in.yuv"
    yuv.write_bytes(b"".join(p.packed().tobytes() for p in VideoReader(resolve_resource(EXAMPLE_CLIP)).frames()))
    benchmark.extra_info["pictures"] = 32
    benchmark.pedantic(lambda: enc.encode(str(yuv), str(tmp_path / "o.bin"), 256, 256, Fraction(30), 32, 50, 27),
                       rounds=1 if encoder == "VTM" else 2, warmup_rounds=0)
    benchmark.extra_info["pictures_per_s"] = 32 / benchmark.stats.stats.mean


def test_integer_keypoint_detector(benchmark, example_picture):
    """The normative integer keypoint detector of the default model on one 256x256 picture."""
    from CommonLib.fixed_point.int_model_file import IntegerModelFile
    from Utilities.app_config import resolve_resource
    from CommonLib.generation.model_registry import DEFAULT_HDAC_HF_MODEL
    net = IntegerModelFile(resolve_resource(DEFAULT_HDAC_HF_MODEL)).network()
    benchmark(lambda: net.detect(example_picture))


@pytest.mark.parametrize("pictures", [32, 250])
def test_peak_memory_flat_in_length(benchmark, pictures, tmp_path):
    """Peak RSS of EncoderApp and DecoderApp (default cfg, KeypointTransmission never) on the first 32 and all
    250 pictures of the test sequence ctc01_lp_d6: memory must not grow with the number of pictures
    (extra_info: peak MiB of each app)."""
    import resource
    import subprocess
    import sys
    seq = os.path.join(os.path.dirname(ROOT), "shared", "sequences", "ctc01_lp_d6.mp4")
    if not os.path.isfile(seq):
        pytest.skip("needs ../shared/sequences")
    code = ("import resource, sys; from {app}.__main__ import main; rc = main(sys.argv[1:]); "
            "print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(rc)")
    bs = str(tmp_path / "s.bin")

    def run():
        peaks = {}
        for app, args in (("EncoderApp", ["-c", os.path.join(ROOT, "cfg", "encoder.yaml"), "-i", seq, "-f",
                                          str(pictures), "-b", bs, "-o", "", "--Progress", "0", "--Verbose", "0"]),
                          ("DecoderApp", ["-b", bs, "-o", str(tmp_path / "d.yuv"), "--Verbose", "0"])):
            p = subprocess.run([sys.executable, "-c", code.format(app=app), *args], capture_output=True, text=True,
                               cwd=ROOT)
            assert p.returncode == 0, p.stderr[-500:]
            peaks[app] = int(p.stdout.split("PEAK_KB")[-1].split()[0]) / 1024
        return peaks

    peaks = benchmark.pedantic(run, rounds=1, warmup_rounds=0)
    benchmark.extra_info.update({f"{k}_peak_mib": round(v, 1) for k, v in peaks.items()}, pictures=pictures)
