"""TrainerApp: a few steps of the tiny configuration on two short training clips."""
import json
import os

import pytest
import yaml

from conftest import SHARED
from CommonLib.network.model_file import load_model
from TrainerApp.__main__ import main as trainer_main

pytestmark = pytest.mark.skipif(not os.path.isdir(os.path.join(SHARED, "sequences")),
                                reason="needs ../shared/sequences (present in CI)")


@pytest.fixture(scope="module")
def seq_list(tmp_path_factory):
    src = yaml.safe_load(open(os.path.join(SHARED, "sequences", "sequences.yaml")))
    keep = [dict(s, file=os.path.join(SHARED, "sequences", s["file"])) for s in src
            if s["name"] in ("train_lp_d0", "train_vx_tys", "train_hdtf_radio10", "ctc01_lp_d6")]
    p = tmp_path_factory.mktemp("list") / "list.yaml"
    p.write_text(yaml.safe_dump(keep))
    return str(p)


def _args(seq_list, tmp, *extra):
    return ["--SequenceList", seq_list, "--NetworkConfig", "tiny", "--MaxFramesPerClip", "8",
            "--TrainIntraPeriod", "4", "--BaseLayerQPs", "44,50", "--BatchSize", "2", "--ValidationSequences",
            "train_hdtf_radio10", "--ValidationFrames", "2", "--ValidateEvery", "2", "--CheckpointEvery", "2",
            "--CacheDir", str(tmp / "cache"), "--OutputDir", str(tmp / "run"), "--Progress", "0",
            "--Threads", "1", *extra]


def test_training_loop_checkpoints_and_resume(seq_list, tmp_path, capsys):
    assert trainer_main(_args(seq_list, tmp_path, "--Steps", "2")) == 0
    log = json.load(open(tmp_path / "run" / "training_log.json"))
    assert log["history"][0]["step"] == 2 and 44 in map(int, log["history"][0]["val"])
    model, meta = load_model(str(tmp_path / "run" / "model.safetensors"), log["sha256"])
    assert json.loads(meta["training_steps"]) == 2
    assert json.loads(meta["training_recipe"])["NetworkConfig"] == "tiny"
    # the test split is never used for training
    out = capsys.readouterr().out
    assert "2 training clips" in out
    assert trainer_main(_args(seq_list, tmp_path, "--Steps", "4", "--Resume", "1", "--LrDecaySteps", "3")) == 0
    assert "resumed from step 2" in capsys.readouterr().out
    assert json.load(open(tmp_path / "run" / "checkpoint.json"))["step"] == 4
    import torch
    state = torch.load(tmp_path / "run" / "checkpoint_state.pt", weights_only=True)
    assert state["optimizer"]["param_groups"][0]["lr"] == pytest.approx(2e-5)      # decayed x0.1 at step 3


def test_trainer_bad_options(seq_list, tmp_path, capsys):
    assert trainer_main(_args(seq_list, tmp_path, "--ValidationSequences", "ctc01_lp_d6")) == 1
    assert "not training clips" in capsys.readouterr().err
    assert trainer_main(_args(seq_list, tmp_path, "--BaseLayerQPs", "44,x")) == 1
    assert "BaseLayerQPs" in capsys.readouterr().err


def test_gan_and_vgg_options(seq_list, tmp_path):
    """The optional losses run: LSGAN with a patch discriminator, VGG19 loaded from a local file."""
    import torch
    from TrainerApp.losses import Vgg19Features
    sd, c, i = {}, 3, 0
    for v in Vgg19Features.CFG:
        if v == "M":
            i += 1
            continue
        sd[f"features.{i}.weight"], sd[f"features.{i}.bias"] = torch.randn(v, c, 3, 3) * 0.05, torch.zeros(v)
        c, i = v, i + 2
    vgg = tmp_path / "vgg19.pth"
    torch.save(sd, vgg)
    assert trainer_main(_args(seq_list, tmp_path, "--Steps", "1", "--WeightGan", "1", "--VggWeights", str(vgg),
                              "--ValidateEvery", "0", "--ValidationFrames", "0")) == 0
    state = torch.load(tmp_path / "run" / "checkpoint_state.pt", weights_only=True)
    assert "discriminator" in state


def test_missing_vgg_weights(seq_list, tmp_path, capsys):
    assert trainer_main(_args(seq_list, tmp_path, "--Steps", "1", "--VggWeights", str(tmp_path / "none.pth"))) == 1
    assert "cannot load VGG19 weights" in capsys.readouterr().err


def test_device_sampler_equals_cpu_sampler(seq_list, tmp_path):
    """DataOnDevice: the batches gathered and colour-converted as tensors equal PairSampler's, draw for draw."""
    import numpy as np
    import torch

    from CommonLib.colour import yuv420_to_rgb
    from CommonLib.sequence_list import read_sequence_list
    from CommonLib.video_io import YuvPicture
    from TrainingLib.device_sampler import DevicePairSampler, yuv420_to_rgb_torch
    from TrainingLib.training_data import PairSampler, prepare_clips
    seqs = read_sequence_list(seq_list, "train")
    clips = prepare_clips(seqs, str(tmp_path / "cache"), [44, 50], 27, 4, 8, progress=False, jobs=2)
    cpu, dev = PairSampler(clips, [44, 50], 7), DevicePairSampler(clips, [44, 50], 7, "cpu")
    for _ in range(3):
        (a, la), (b, lb) = cpu.batch(5), dev.batch(5)
        assert torch.equal(la, lb)
        for x, y in zip(a, b):
            assert torch.equal(x, y)
    # the tensor colour conversion is the normative integer one, on random planes too (extremes included)
    rng = np.random.default_rng(3)
    packed = rng.integers(0, 256, (4, 24, 16), dtype=np.uint8)
    packed[0] = 0
    packed[1] = 255
    ref = np.stack([yuv420_to_rgb(*YuvPicture.from_packed(p, 16, 16).planes()) for p in packed])
    assert np.array_equal(yuv420_to_rgb_torch(torch.from_numpy(packed), 16, 16).numpy(), ref)


def test_max_minutes_stops_training(seq_list, tmp_path, capsys):
    assert trainer_main(_args(seq_list, tmp_path, "--Steps", "50", "--MaxMinutes", "0.000001",
                              "--DataOnDevice", "1")) == 0
    log = json.load(open(tmp_path / "run" / "training_log.json"))
    model, meta = load_model(str(tmp_path / "run" / "model.safetensors"), log["sha256"])
    assert json.loads(meta["training_steps"]) < 50
    assert "MaxMinutes" in capsys.readouterr().out
