import pytest
import torch

from CommonLib.network.blocks import conv_macs
from CommonLib.generation.network_config import NetworkConfig, paper_config, preset, small_config, tiny_config
from CommonLib.network.hdac_hf import HdacHfModel
from CommonLib.network.hf_shuttling import high_pass, shuttle
from CommonLib.generation.network_config import HF_KERNELS


class _Decoder(torch.nn.Module):
    """Decoder-side cost: dense motion + generator."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        kp = torch.zeros(1, self.m.cfg.kp.num_kp, 2)
        return self.m(x, x, kp, kp + 0.1)


def test_output_shapes_small():
    torch.manual_seed(0)
    m = HdacHfModel(tiny_config()).eval()
    x = torch.rand(2, 3, 256, 256)
    kp = m.detect(x)
    assert kp.shape == (2, 10, 2) and kp.abs().max() <= 1
    out, flow, occ = m(x, x, kp, kp)
    assert out.shape == (2, 3, 256, 256) and flow.shape == (2, 64, 64, 2) and occ.shape == (2, 1, 64, 64)
    assert m.generate(x, None, kp, kp).shape == (2, 3, 256, 256)   # animation-only


def test_paper_configuration_matches_the_brief():
    m = HdacHfModel(paper_config())
    g = m.generator
    assert g.key_encoder.first.conv.kernel_size == (7, 7) and g.key_encoder.first.conv.out_channels == 64
    assert [(b.conv.in_channels, b.conv.out_channels) for b in g.key_encoder.down] == [(64, 128), (128, 256)]
    assert [(b.conv.in_channels, b.conv.out_channels) for b in g.base_encoder.down] == [(64, 128), (128, 256)]
    assert len(g.bottleneck) == 6 and g.bottleneck[0].conv1.in_channels == 512
    assert (g.fuse_out.in_channels, g.fuse_out.out_channels, g.fuse_out.kernel_size) == (512, 256, (3, 3))
    assert [(u.conv.in_channels, u.conv.out_channels) for u in g.up] == [(256, 128), (128, 64)]
    assert g.final.kernel_size == (7, 7) and g.final.out_channels == 3
    dm = m.dense_motion
    assert dm.hourglass.down_blocks[0].conv.in_channels == 44 and len(dm.hourglass.down_blocks) == 5
    assert dm.mask.out_channels == 11 and dm.mask.kernel_size == (7, 7) and dm.occlusion.out_channels == 1
    kp = m.kp_detector
    assert kp.kp.out_channels == 10 and kp.kp.kernel_size == (7, 7) and len(kp.predictor.down_blocks) == 5
    assert kp.predictor.down_blocks[-1].conv.out_channels == 1024
    assert tuple(kp.down.weight.shape[-2:]) == (13, 13)
    macs = conv_macs(_Decoder(m), torch.zeros(1, 3, 256, 256))
    assert 140e9 < macs < 170e9          # brief: about 150 GMAC per frame


def test_small_configuration_cost_is_within_budget():
    macs = conv_macs(_Decoder(HdacHfModel(small_config())), torch.zeros(1, 3, 256, 256))
    assert macs < 8e9


def test_hf_filters_are_the_papers_kernels():
    x = torch.zeros(1, 2, 5, 5)
    x[0, :, 2, 2] = 1
    lap = high_pass(x, "laplacian4")[0, 0]
    assert lap[2, 2] == -4 and lap[1, 2] == 1 and lap[1, 1] == 0
    hp = high_pass(x, "highpass8")[0, 1]
    assert hp[2, 2] == 8 and hp[1, 1] == -1
    flat = torch.ones(1, 3, 6, 6)
    for k in HF_KERNELS:
        assert high_pass(flat, k)[0, :, 1:-1, 1:-1].abs().max() == 0   # no DC response


def test_shuttle_warps_and_masks():
    e = torch.rand(1, 4, 16, 16)
    ident = torch.stack(torch.meshgrid(torch.linspace(-1, 1, 16), torch.linspace(-1, 1, 16), indexing="xy"), -1)[None]
    ones, zeros = torch.ones(1, 1, 16, 16), torch.zeros(1, 1, 16, 16)
    assert torch.allclose(shuttle(e, ident, ones, "laplacian4"), high_pass(e, "laplacian4"), atol=1e-5)
    assert shuttle(e, ident, zeros, "laplacian4").abs().max() == 0
    assert torch.equal(shuttle(e, ident, zeros, "laplacian4", order="unwarped"), high_pass(e, "laplacian4"))


@pytest.mark.parametrize("hf", ["none", "highpass8", "laplacian4"])
def test_hf_option_changes_the_picture_not_the_interface(hf):
    torch.manual_seed(0)
    cfg = preset("tiny", hf)
    cfg.generator.output_mode = "sigmoid"
    m = HdacHfModel(cfg).eval()
    x = torch.rand(1, 3, 256, 256)
    kp = torch.rand(1, 10, 2) * 2 - 1
    assert m.generate(x, x, kp, kp * 0.9).shape == (1, 3, 256, 256)
    if hf != "none":
        torch.manual_seed(0)
        m0 = HdacHfModel(preset("tiny", "none"))
        m0.generator.cfg.output_mode = "sigmoid"
        m0.load_state_dict(m.state_dict())
        assert not torch.equal(m0.eval().generate(x, x, kp, kp * 0.9), m.generate(x, x, kp, kp * 0.9))


def test_residual_output_starts_at_the_base_layer():
    m = HdacHfModel(tiny_config())
    torch.nn.init.zeros_(m.generator.final.weight)
    torch.nn.init.zeros_(m.generator.final.bias)
    m.eval()
    x, b = torch.rand(1, 3, 256, 256), torch.rand(1, 3, 256, 256)
    kp = torch.zeros(1, 10, 2)
    assert torch.allclose(m.generate(x, b, kp, kp), b)


def test_config_round_trip_and_errors():
    cfg = small_config("highpass8")
    assert NetworkConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(Exception, match="unknown network config key"):
        NetworkConfig.from_dict({"generator": {"bogus": 1}})
    with pytest.raises(Exception, match="unknown HF filter"):
        preset("small", "sobel")


@pytest.mark.parametrize("size", [64, 128, 256])
def test_warp_by_the_identity_flow_is_the_identity_at_every_size(size):
    """blocks.warp resizes the displacement, not the positions: the identity flow of the 64 x 64 motion grid
    leaves a map of any size as it is (resizing positions would shift border samples by up to 1.5 samples)."""
    from CommonLib.network.blocks import make_coordinate_grid, warp
    x = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(size))
    flow = make_coordinate_grid(64, 64).unsqueeze(0)
    assert (warp(x, flow) - x).abs().max() < 1e-4     # float rounding; a 1-sample shift of noise is ~0.5
