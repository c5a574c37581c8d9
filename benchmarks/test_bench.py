"""Speed benchmarks (pytest-benchmark): python -m pytest benchmarks --benchmark-only

Not part of the test suite (tests/ never times anything). Figures are
reported in the issue notes and doc/model_card.md.
"""
import numpy as np
import pytest
import torch

from CommonLib.network.config import preset
from CommonLib.network.hdac_hf import HdacHfModel


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


def test_training_step_small(benchmark):
    """One optimisation step of the shipped recipe (batch 4, channels-last), samples/s = 4 / time."""
    from TrainerApp.losses import equivariance_loss, reconstruction_loss
    torch.manual_seed(0)
    m = HdacHfModel(preset("small")).train().to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(m.parameters(), lr=2e-4, betas=(0.5, 0.999))
    b = [torch.rand(4, 3, 256, 256).contiguous(memory_format=torch.channels_last) for _ in range(3)]
    lam = torch.ones(4)

    def step():
        kk, kt = m.kp_detector(b[0]), m.kp_detector(b[2])
        out, _, _ = m(b[0], b[1], kk, kt, torch.ones(4))
        loss = reconstruction_loss(out, b[2], lam) + 10 * equivariance_loss(m.kp_detector, b[2], kt)
        opt.zero_grad()
        loss.backward()
        opt.step()

    benchmark.pedantic(step, rounds=3, warmup_rounds=1)


def test_colour_conversion(benchmark):
    from CommonLib.colour import rgb_to_yuv420, yuv420_to_rgb
    rgb = np.random.default_rng(0).integers(0, 256, (3, 256, 256), dtype=np.uint8)
    benchmark(lambda: yuv420_to_rgb(*rgb_to_yuv420(rgb)))


def test_gfv_sei_parse(benchmark):
    from CommonLib.keypoint_coding import GfvDecodingState
    enc = GfvDecodingState()
    kp = np.random.default_rng(0).integers(-128, 128, (10, 2))
    base, _ = enc.encode_payload(0, kp, 7, base_picture=True, uri_tag="t", uri="u")
    drv, _ = enc.encode_payload(0, kp + 1, 7, base_picture=False, fusion_flag=1)

    def parse():
        st = GfvDecodingState()
        st.decode_payload(base)
        st.decode_payload(drv)

    benchmark(parse)
