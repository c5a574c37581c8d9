import os

import numpy as np
import pytest

from Utilities.errors import InputError
from Utilities.video_io import VideoReader, VideoWriter, YuvPicture


def _pics(n, w=32, h=16, seed=0):
    rng = np.random.default_rng(seed)
    return [YuvPicture(rng.integers(0, 256, (h, w), dtype=np.uint8),
                       rng.integers(0, 256, (h // 2, w // 2), dtype=np.uint8),
                       rng.integers(0, 256, (h // 2, w // 2), dtype=np.uint8)) for _ in range(n)]


@pytest.mark.parametrize("ext", [".yuv", ".y4m"])
def test_yuv_round_trip_is_exact(tmp_path, ext):
    pics = _pics(3)
    p = str(tmp_path / f"a{ext}")
    with VideoWriter(p, 32, 16, 30) as w:
        for q in pics:
            w.write(q)
    r = VideoReader(p, 32, 16) if ext == ".yuv" else VideoReader(p)
    assert r.info.num_frames == 3 and (r.info.width, r.info.height) == (32, 16)
    got = list(r.frames())
    for a, b in zip(pics, got):
        for pa, pb in zip(a.planes(), b.planes()):
            assert np.array_equal(pa, pb)
    assert [q.y[0, 0] for q in r.frames(1, 1)] == [pics[1].y[0, 0]]
    if ext == ".y4m":
        assert r.info.frame_rate == 30


def test_rgb_file_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (3, 16, 32), dtype=np.uint8)
    p = str(tmp_path / "a.rgb")
    with VideoWriter(p, 32, 16) as w:
        w.write(rgb)
    assert os.path.getsize(p) == rgb.size
    (pic,) = list(VideoReader(p, 32, 16).frames())
    assert np.array_equal(pic.y, YuvPicture.from_rgb(rgb).y)


def test_wrong_size_and_missing_files(tmp_path):
    p = tmp_path / "bad.yuv"
    p.write_bytes(b"\0" * 1000)
    with pytest.raises(InputError, match="not a whole number"):
        VideoReader(str(p), 32, 16)
    with pytest.raises(InputError, match="must be given"):
        VideoReader(str(p))
    with pytest.raises(InputError, match="does not exist"):
        VideoReader(str(tmp_path / "none.yuv"), 32, 16)
    bad = tmp_path / "bad.y4m"
    bad.write_bytes(b"NOTY4M")
    with pytest.raises(InputError, match="YUV4MPEG2"):
        VideoReader(str(bad))
    with pytest.raises(InputError, match="unknown format"):
        VideoWriter(str(tmp_path / "x.png"), 32, 16)


def test_failed_writer_leaves_no_file(tmp_path):
    p = tmp_path / "out.yuv"
    with pytest.raises(RuntimeError):
        with VideoWriter(str(p), 32, 16) as w:
            w.write(_pics(1)[0])
            raise RuntimeError("boom")
    assert not p.exists() and not list(tmp_path.glob("*.part"))


def test_mp4_through_ffmpeg(example_clip, tmp_path):
    import av
    p = str(tmp_path / "a.mp4")
    pics = list(VideoReader(example_clip).frames(0, 3))
    with av.open(p, "w") as c:
        s = c.add_stream("libx265", rate=25)
        s.width, s.height, s.pix_fmt = 256, 256, "yuv420p"
        s.options = {"x265-params": "log-level=error:qp=10"}
        for q in pics:
            fr = av.VideoFrame.from_ndarray(q.packed().reshape(-1, 256), format="yuv420p")
            for pk in s.encode(fr):
                c.mux(pk)
        for pk in s.encode(None):
            c.mux(pk)
    r = VideoReader(p)
    got = list(r.frames())
    assert len(got) == 3 and got[0].y.shape == (256, 256)
    assert np.abs(got[0].y.astype(int) - pics[0].y.astype(int)).mean() < 3
