"""Architecture configurations of the HDAC-HF networks, and the fixed HF-shuttling kernels.

``paper``  – the numbers of the brief, section 2 (public HDAC code), 256x256.
``small``  – the same architecture with fewer channels and blocks, trained
             and decoded on a 2-core CPU; the shipped default.

A configuration is stored inside every model file (float and integer), so a
model file always rebuilds the network it was trained with. This module is
plain data (no torch): the normative integer process (CommonLib.fixed_point)
and the float network (CommonLib.network) both read it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from Utilities.errors import ConfigError


@dataclass
class KeypointDetectorConfig:
    num_kp: int = 10
    block_expansion: int = 32
    max_features: int = 1024
    num_blocks: int = 5
    temperature: float = 0.1
    scale_factor: float = 0.25


@dataclass
class DenseMotionConfig:
    block_expansion: int = 64
    max_features: int = 1024
    num_blocks: int = 5
    scale_factor: float = 0.25
    kp_variance: float = 0.01
    base_input: bool = False          # the down-sampled base-layer picture is an input of the hourglass too


@dataclass
class GeneratorConfig:
    block_expansion: int = 64
    max_features: int = 512
    num_down_blocks: int = 2
    num_bottleneck_blocks: int = 6
    bottleneck_features: int = 0      # 0: the concatenation width (paper); else a 1x1 projection first
    first_kernel: int = 7
    hf_filter: str = "laplacian4"     # none | highpass8 (Filter 1) | laplacian4 (Filter 2)
    hf_order: str = "filter_warp"     # filter_warp (paper eqs. 2-3) | unwarped (public code variant)
    hf_l2norm: bool = False           # public-code variant: L2-normalise channels after each addition
    output_mode: str = "sigmoid"      # sigmoid (paper) | residual (add to the base layer / warped key picture)
    key_input: bool = True            # False: the ablation "post-filter" (the warped key features are zeros and
                                      # no HF shuttling: the output depends on the base-layer picture alone)
    base_skips: bool = False          # True: the base encoder's features of every level below the bottleneck are
                                      # added, through a 1x1 convolution without bias, to the decoder's input of
                                      # that level (U-Net skips: the decoder sees the base layer at full resolution)
    refine_layers: int = 0            # > 0: a local refinement of the output picture P, P + R(P), with R a chain of
    refine_channels: int = 32         # refine_layers 3x3 convolutions (ReLU between them; refine_channels wide)

    def refine_problem(self) -> str:
        """Why ``refine_layers`` / ``refine_channels`` describe no refinement ('' when they do, or when there is none)."""
        if self.refine_layers and (self.refine_layers < 2 or self.refine_channels < 1):
            return (f"refine_layers {self.refine_layers} / refine_channels {self.refine_channels}: a refinement has "
                    "at least 2 layers and 1 channel (refine_layers 0 = none)")
        return ""


@dataclass
class NetworkConfig:
    name: str = "paper"
    kp: KeypointDetectorConfig = field(default_factory=KeypointDetectorConfig)
    dense_motion: DenseMotionConfig = field(default_factory=DenseMotionConfig)
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)

    def to_dict(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_dict(d: dict) -> "NetworkConfig":
        def build(cls, sub):
            known = {f.name for f in fields(cls)}
            bad = set(sub) - known
            if bad:
                raise ConfigError(f"unknown network config key(s) {sorted(bad)} in {cls.__name__}")
            return cls(**sub)
        d = dict(d)
        return NetworkConfig(name=d.get("name", "custom"),
                             kp=build(KeypointDetectorConfig, d.get("kp", {})),
                             dense_motion=build(DenseMotionConfig, d.get("dense_motion", {})),
                             generator=build(GeneratorConfig, d.get("generator", {})))


#: The fixed depthwise 3x3 kernels f_hpf of HF shuttling (paper eq. 2; doc/integer_decoding_process.md
#: clause 7.4): stride 1, zero padding 1, integer taps.
HF_KERNELS = {
    "highpass8": ((-1, -1, -1), (-1, 8, -1), (-1, -1, -1)),      # paper "Filter 1"
    "laplacian4": ((0, 1, 0), (1, -4, 1), (0, 1, 0)),            # paper "Filter 2"
}
HF_FILTERS = ("none",) + tuple(HF_KERNELS)


def paper_config(hf_filter: str = "laplacian4") -> NetworkConfig:
    return NetworkConfig(name="paper", generator=GeneratorConfig(hf_filter=hf_filter))


def small_config(hf_filter: str = "laplacian4") -> NetworkConfig:
    return NetworkConfig(
        name="small",
        kp=KeypointDetectorConfig(block_expansion=16, max_features=128, num_blocks=5),
        dense_motion=DenseMotionConfig(block_expansion=16, max_features=128, num_blocks=4),
        generator=GeneratorConfig(block_expansion=16, max_features=64, num_down_blocks=2,
                                  num_bottleneck_blocks=2, bottleneck_features=64,
                                  hf_filter=hf_filter, output_mode="residual"))


def tiny_config(hf_filter: str = "laplacian4") -> NetworkConfig:
    """For unit tests of the training loop only."""
    return NetworkConfig(
        name="tiny",
        kp=KeypointDetectorConfig(block_expansion=4, max_features=16, num_blocks=3),
        dense_motion=DenseMotionConfig(block_expansion=4, max_features=16, num_blocks=3),
        generator=GeneratorConfig(block_expansion=4, max_features=16, num_down_blocks=2,
                                  num_bottleneck_blocks=1, bottleneck_features=8,
                                  hf_filter=hf_filter, output_mode="residual"))


PRESETS = {"paper": paper_config, "small": small_config, "tiny": tiny_config}


def preset(name: str, hf_filter: str = "laplacian4") -> NetworkConfig:
    if name not in PRESETS:
        raise ConfigError(f"unknown network configuration '{name}' (choose {', '.join(PRESETS)})")
    if hf_filter not in HF_FILTERS:
        raise ConfigError(f"unknown HF filter '{hf_filter}' (choose {', '.join(HF_FILTERS)})")
    return PRESETS[name](hf_filter)
