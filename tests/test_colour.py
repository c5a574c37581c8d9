import math

import numpy as np
from hypothesis import given, settings, strategies as st

from Utilities import colour


def _coef(v):
    return math.floor(v * (1 << colour.SHIFT) + 0.5)


def test_coefficients_follow_bt709_limited_range():
    kr, kb = 0.2126, 0.0722
    kg = 1 - kr - kb
    assert colour.RGB_TO_Y == (_coef(kr * 219 / 255), _coef(kg * 219 / 255), _coef(kb * 219 / 255))
    assert colour.RGB_TO_CB == (_coef(-kr / (2 * (1 - kb)) * 224 / 255), _coef(-kg / (2 * (1 - kb)) * 224 / 255),
                                _coef(0.5 * 224 / 255))
    assert colour.RGB_TO_CR == (_coef(0.5 * 224 / 255), _coef(-kg / (2 * (1 - kr)) * 224 / 255),
                                _coef(-kb / (2 * (1 - kr)) * 224 / 255))
    assert colour.Y_SCALE == _coef(255 / 219)
    assert colour.CR_TO_R == _coef(255 / 224 * 2 * (1 - kr))
    assert colour.CB_TO_B == _coef(255 / 224 * 2 * (1 - kb))
    assert sum(colour.RGB_TO_CB) == 0 and sum(colour.RGB_TO_CR) == 0


def test_black_white_grey_map_to_nominal_levels():
    for v, y in ((0, 16), (255, 235)):
        rgb = np.full((3, 4, 4), v, np.uint8)
        yy, cb, cr = colour.rgb_to_yuv420(rgb)
        assert (yy == y).all() and (cb == 128).all() and (cr == 128).all()
        back = colour.yuv420_to_rgb(yy, cb, cr)
        assert (back == v).all()


def test_known_colour_red():
    rgb = np.zeros((3, 2, 2), np.uint8)
    rgb[0] = 255
    y, cb, cr = colour.rgb_to_yuv444(rgb)
    # BT.709 limited range: red = (63, 102, 240)
    assert (int(y[0, 0]), int(cb[0, 0]), int(cr[0, 0])) == (63, 102, 240)


def test_chroma_filters_are_integer_and_exact_on_flat_planes():
    c = np.full((8, 8), 77, np.uint8)
    assert (colour.upsample_chroma(c) == 77).all()
    assert (colour.downsample_chroma(colour.upsample_chroma(c)) == 77).all()
    # triangular filter weights 9/16, 3/16, 3/16, 1/16 on a step
    step = np.zeros((2, 2), np.uint8)
    step[0, 0] = 160
    up = colour.upsample_chroma(step)
    assert int(up[1, 1]) == (9 * 160 + 8) >> 4
    assert int(up[2, 2]) == (1 * 160 + 8) >> 4


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_round_trip_error_is_small(seed):
    rng = np.random.default_rng(seed)
    rgb = rng.integers(0, 256, (3, 16, 16), dtype=np.uint8)
    yuv = colour.rgb_to_yuv444(rgb)
    # 4:4:4 round trip through the integer matrices: within 2 levels for in-gamut colours
    back = colour.yuv420_to_rgb(yuv[0], colour.downsample_chroma(yuv[1]), colour.downsample_chroma(yuv[2]))
    assert back.dtype == np.uint8 and back.shape == rgb.shape
    y2, _, _ = colour.rgb_to_yuv444(back)
    assert np.abs(y2.astype(int) - yuv[0].astype(int)).mean() < 6
