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
            "--TrainIntraPeriod", "4", "--BaseLayerQPs", "44,50", "--StreamDir", str(tmp.parent / "streams"), "--BatchSize", "2", "--ValidationSequences",
            "train_hdtf_radio10", "--ValidationFrames", "2", "--ValidateEvery", "2", "--CheckpointEvery", "2",
            "--CacheDir", str(tmp / "cache"), "--OutputDir", str(tmp / "run"), "--Progress", "0",
            "--Threads", "1", *extra]


def test_training_loop_state_and_resume(seq_list, tmp_path, capsys):
    assert trainer_main(_args(seq_list, tmp_path, "--Steps", "2")) == 0
    curve = json.load(open(tmp_path / "run" / "curve.json"))["curve"]
    assert [h["step"] for h in curve] == [0, 2] and "50/27" in curve[1]["val"]["sent"]
    assert 5 < curve[1]["val"]["sent"]["50/27"]["warped_key_psnr_y"] < 60
    log = json.load(open(tmp_path / "run" / "training_log.json"))
    model, meta = load_model(str(tmp_path / "run" / "model.safetensors"), log["sha256"])
    assert json.loads(meta["training_steps"]) == 2
    assert json.loads(meta["training_recipe"])["NetworkConfig"] == "tiny"
    # the test split is never used for training
    out = capsys.readouterr().out
    assert "2 training clips" in out
    assert trainer_main(_args(seq_list, tmp_path, "--Steps", "4", "--Resume", "1")) == 0
    assert "resumed from step 2" in capsys.readouterr().out
    from TrainingLib.run_state import load_state
    tensors, meta = load_state(str(tmp_path / "run" / "state.safetensors"))
    assert meta["step"] == 4 and meta["samples"] == 8
    assert any(k.startswith("adam.model.") and k.endswith(".exp_avg") for k in tensors)
    import torch
    assert all(v.dtype == torch.bfloat16 for k, v in tensors.items() if k.endswith("exp_avg_sq"))


def test_resume_is_the_uninterrupted_run(seq_list, tmp_path):
    """2 + 2 steps with a stop in between give the weights of 4 steps in one go (up to the bfloat16 Adam
    moments of the state): the data position and random states travel with the run."""
    a, b = tmp_path / "a", tmp_path / "b"
    common = ["--CropSize", "64", "--ValidateEvery", "0", "--ValidationFrames", "0", "--LearningRate", "0.001"]
    a.mkdir(); b.mkdir()
    assert trainer_main(_args(seq_list, a, "--Steps", "4", *common)) == 0
    assert trainer_main(_args(seq_list, b, "--Steps", "2", *common)) == 0
    assert trainer_main(_args(seq_list, b, "--Steps", "4", "--Resume", "1", *common)) == 0
    ma, _ = load_model(str(a / "run" / "model.safetensors"))
    mb, _ = load_model(str(b / "run" / "model.safetensors"))
    diffs = [float((x - y).abs().max()) for x, y in zip(ma.state_dict().values(), mb.state_dict().values())
             if x.is_floating_point()]
    ref = max(float(x.abs().max()) for x in ma.state_dict().values() if x.is_floating_point())
    assert max(diffs) < 1e-2 * ref
    # a different random state (another seed) gives clearly different weights: the comparison can fail
    c = tmp_path / "c"
    c.mkdir()
    assert trainer_main(_args(seq_list, c, "--Steps", "4", "--Seed", "2", *common)) == 0
    mc, _ = load_model(str(c / "run" / "model.safetensors"))
    assert max(float((x - y).abs().max()) for x, y in zip(ma.state_dict().values(), mc.state_dict().values())
               if x.is_floating_point()) > 10 * max(diffs)


def test_resume_refuses_bad_state_and_other_recipe(seq_list, tmp_path, capsys):
    assert trainer_main(_args(seq_list, tmp_path, "--Steps", "1", "--Resume", "1")) == 1
    assert "nothing to resume" in capsys.readouterr().err
    assert trainer_main(_args(seq_list, tmp_path, "--Steps", "2", "--ValidateEvery", "0")) == 0
    capsys.readouterr()
    assert trainer_main(_args(seq_list, tmp_path, "--Steps", "3", "--Resume", "1", "--LearningRate", "0.1")) == 1
    err = capsys.readouterr().err
    assert "another recipe" in err and "LearningRate" in err and len(err.strip().splitlines()) == 1
    state = tmp_path / "run" / "state.safetensors"
    good = state.read_bytes()
    state.write_bytes(good[: len(good) // 2])
    assert trainer_main(_args(seq_list, tmp_path, "--Steps", "3", "--Resume", "1")) == 1
    err = capsys.readouterr().err
    assert "is damaged" in err and len(err.strip().splitlines()) == 1


def test_crops_keep_keypoints_on_the_content(seq_list, tmp_path):
    """A keypoint on a picture sample stays on the same sample of the crop (and of the mirrored crop)."""
    import torch
    from TrainingLib.training_data import Draw, crop_keypoints
    w = h = 256
    px, py = 100, 60                                      # a sample of the whole picture
    kp = torch.tensor([[[2 * px / (w - 1) - 1, 2 * py / (h - 1) - 1]]])
    for flip in (False, True):
        d = Draw(0, 0, 1, (27, 50), flip, 40, 64, False)
        k = crop_keypoints(kp, [d], w, h, 128)[0, 0]
        cx, cy = (k[0] + 1) * 127 / 2, (k[1] + 1) * 127 / 2
        assert float(cy) == pytest.approx(py - 40, abs=1e-4)
        assert float(cx) == pytest.approx((127 - (px - 64)) if flip else px - 64, abs=1e-4)


def test_trainer_bad_options(seq_list, tmp_path, capsys):
    assert trainer_main(_args(seq_list, tmp_path, "--ValidationSequences", "ctc01_lp_d6")) == 1
    assert "not training clips" in capsys.readouterr().err
    assert trainer_main(_args(seq_list, tmp_path, "--BaseLayerQPs", "44,x")) == 1
    assert "BaseLayerQPs" in capsys.readouterr().err


def test_gan_and_vgg_options(seq_list, tmp_path):
    """The optional losses run: LSGAN with a patch discriminator, VGG19 loaded from a local file."""
    import torch
    from TrainingLib.losses import Vgg19Features
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
    from TrainingLib.run_state import load_state
    tensors, _ = load_state(str(tmp_path / "run" / "state.safetensors"))
    assert any(k.startswith("disc.") for k in tensors) and any(k.startswith("adam.disc.") for k in tensors)


def test_missing_vgg_weights(seq_list, tmp_path, capsys):
    assert trainer_main(_args(seq_list, tmp_path, "--Steps", "1", "--VggWeights", str(tmp_path / "none.pth"))) == 1
    assert "cannot load VGG19 weights" in capsys.readouterr().err


def test_device_sampler_equals_cpu_sampler(seq_list, tmp_path):
    """DataOnDevice: the batches gathered and colour-converted as tensors equal PairSampler's, draw for draw."""
    import numpy as np
    import torch

    from Utilities.colour import yuv420_to_rgb
    from Utilities.sequence_list import read_sequence_list
    from Utilities.video_io import YuvPicture
    from TrainingLib.device_sampler import DevicePairSampler, yuv420_to_rgb_torch
    from TrainingLib.training_data import PairSampler, prepare_clips
    seqs = read_sequence_list(seq_list, "train")
    pairs = [(27, 44), (27, 50)]
    clips = prepare_clips(seqs, str(tmp_path / "cache"), pairs, 4, 8, progress=False, jobs=2)
    cpu, dev = PairSampler(clips, pairs, 7, crop=64), DevicePairSampler(clips, pairs, 7, "cpu", crop=64)
    for _ in range(3):
        (a, la, _), (b, lb, _) = cpu.batch(5), dev.batch(5)
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


def test_two_processes_with_torchrun(seq_list, tmp_path):
    """DistributedDataParallel on the CPU (gloo): two ranks train a few steps and end with identical weights;
    rank 0 alone writes the state, which records both ranks' data positions."""
    import subprocess
    import sys
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m",
           "TrainerApp", *_args(seq_list, tmp_path, "--Steps", "3", "--ValidateEvery", "0", "--ValidationFrames", "0",
                                "--CropSize", "64")]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "2 process(es)" in r.stdout and "all 2 processes hold identical weights" in r.stdout
    from TrainingLib.run_state import load_state
    _, meta = load_state(str(tmp_path / "run" / "state.safetensors"))
    assert meta["world_size"] == 2 and len(meta["numpy_rng"]) == 2 and meta["samples"] == 3 * 2 * 2
    assert meta["numpy_rng"][0] != meta["numpy_rng"][1]


def test_kept_streams_rebuild_the_cache_and_a_damaged_one_is_an_error(seq_list, tmp_path, capsys):
    """StreamDir: a second machine (an empty cache) decodes the kept bitstreams instead of encoding, to the same
    pictures; a damaged kept stream is a one-line error naming the clip."""
    import glob

    import numpy as np
    from Utilities.sequence_list import read_sequence_list
    from TrainingLib.training_data import prepare_clips
    seqs = read_sequence_list(seq_list, "train")[:1]
    streams = str(tmp_path / "streams")
    a = prepare_clips(seqs, str(tmp_path / "c1"), [(32, 44)], 4, 8, progress=False, stream_dir=streams)
    kept = glob.glob(os.path.join(streams, "*", "*.hevc"))
    assert len(kept) == 1
    b = prepare_clips(seqs, str(tmp_path / "c2"), [(32, 44)], 4, 8, progress=False, stream_dir=streams)
    assert np.array_equal(a[0].decoded[(32, 44)], b[0].decoded[(32, 44)])
    data = open(kept[0], "rb").read()
    open(kept[0], "wb").write(data[: len(data) // 3])
    assert trainer_main(_args(seq_list, tmp_path, "--Steps", "1", "--BaseLayerQPPairs", "44/32", "--CacheDir",
                              str(tmp_path / "c3"), "--StreamDir", streams)) == 1
    err = capsys.readouterr().err
    assert seqs[0]["name"] in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_cached_keypoints_are_the_detector_on_the_decoded_pictures(seq_list, tmp_path):
    """FreezeDetector: derived keypoints are the detector's on the decoded pictures, sent ones on the source."""
    import numpy as np
    import torch
    from CommonLib.generation.network_config import tiny_config
    from CommonLib.network.hdac_hf import HdacHfModel
    from Utilities.sequence_list import read_sequence_list
    from TrainingLib.keypoint_cache import KeypointCache
    from TrainingLib.training_data import prepare_clips
    seqs = read_sequence_list(seq_list, "train")[:1]
    clip = prepare_clips(seqs, str(tmp_path / "c"), [(32, 44)], 4, 8, progress=False)[0]
    torch.manual_seed(0)
    det = HdacHfModel(tiny_config()).kp_detector.eval()
    kc = KeypointCache(det, [clip], [(32, 44)], str(tmp_path / "c"), derived=True, sent=True)
    t = lambda a: torch.from_numpy(a).float().unsqueeze(0) / 255
    with torch.no_grad():
        dec = det(t(clip.rgb(clip.decoded[(32, 44)], 5)))[0].numpy()
        src = det(t(clip.rgb(clip.source, 5)))[0].numpy()
    assert np.allclose(kc.pair_keypoints(clip.name, (32, 44), 0, 5, True)[1], dec, atol=1e-5)
    assert np.allclose(kc.pair_keypoints(clip.name, (32, 44), 0, 5, False)[1], src, atol=1e-5)
    assert not np.allclose(dec, src, atol=1e-5)


def test_training_curve_tool(tmp_path):
    """tools.studies.training_curve renders a run's curve.json as a table (and a plot) with the gains it holds."""
    from tools.studies import training_curve
    run = tmp_path / "runs" / "r1"
    run.mkdir(parents=True)
    val = lambda g: {"50/37": {"gen_psnr_y": 30 + g, "base_psnr_y": 30.0, "gain_psnr_y": g, "gen_ms_ssim": 0.93,
                               "base_ms_ssim": 0.92}}
    (run / "curve.json").write_text(json.dumps({"recipe": {}, "curve": [
        {"step": 0, "samples": 0, "val": {"sent": val(-0.25)}}, {"step": 9, "samples": 72, "val": {"sent": val(0.125)}}]}))
    assert training_curve.main([str(run), "--OutputDir", str(tmp_path / "out")]) == 0
    md = (tmp_path / "out" / "curves.md").read_text()
    assert "| 0 | -0.250 / 0.9300 (0.9200) |" in md and "| 72 | +0.125 / 0.9300 (0.9200) |" in md
    assert (tmp_path / "out" / "curves.png").stat().st_size > 1000
    with pytest.raises(SystemExit):
        training_curve.main([str(tmp_path / "nothing")])


def test_recipe_of_an_older_run_lacks_new_options():
    """An option added after a run began counts as its default in the stored recipe: the run resumes while the
    option keeps its default, and is refused once it does not."""
    from TrainingLib.run_state import recipe_differences
    stored = {"LearningRate": 5e-05}
    assert recipe_differences(stored, {"LearningRate": 5e-05, "WeightWarp": 0.0}, {"WeightWarp": 0.0}) == []
    diff = recipe_differences(stored, {"LearningRate": 5e-05, "WeightWarp": 1.0}, {"WeightWarp": 0.0})
    assert diff == ["WeightWarp: 0.0 -> 1.0"]


def test_key_picture_study_residual_flow_starts_from_the_models_flow():
    """tools.studies.key_picture_value align --ResidualFlow: the head is zero-initialised, so the study starts
    from the dense motion's own flow, and it moves the flow once its weights do."""
    import math

    import torch

    from CommonLib.generation.network_config import tiny_config
    from CommonLib.network.dense_motion import DenseMotionNetwork
    from tools.studies.key_picture_value import _residual_flow_network
    cfg = tiny_config()
    torch.manual_seed(0)
    plain = DenseMotionNetwork(cfg.dense_motion, cfg.kp.num_kp).eval()
    study = _residual_flow_network(DenseMotionNetwork, 0.02)(cfg.dense_motion, cfg.kp.num_kp).eval()
    study.load_state_dict({**plain.state_dict(), "residual_flow.weight": study.residual_flow.weight,
                           "residual_flow.bias": study.residual_flow.bias})
    key = torch.rand(1, 3, 64, 64)
    kp = torch.rand(1, cfg.kp.num_kp, 2) * 2 - 1
    with torch.no_grad():
        assert torch.equal(study(key, kp, kp * 0.9)[0], plain(key, kp, kp * 0.9)[0])
        study.residual_flow.bias.fill_(1.0)
        moved = study(key, kp, kp * 0.9)[0] - plain(key, kp, kp * 0.9)[0]
    assert torch.allclose(moved, torch.full_like(moved, 0.02 * math.tanh(1.0)), atol=1e-6)


def test_training_on_a_vvc_base_layer(seq_list, tmp_path, jvet_tools, capsys):
    """BaseLayerEncoder vvenc: the training clips' VVC base layers are coded by VVenC, kept as .vvc streams, and
    decode to the same pictures on a second machine; two steps of training run on them."""
    import glob

    import numpy as np
    from EncoderLib.base_layer_settings import BaseLayerSettings
    from Utilities.sequence_list import read_sequence_list
    from TrainingLib.training_data import prepare_clips
    vvenc = jvet_tools["bin"]["vvencFFapp"]
    bl = BaseLayerSettings("vvenc", "vvc", vvenc_encoder=vvenc, vvenc_preset="faster", picture_hash=0)
    seqs = read_sequence_list(seq_list, "train")[:1]
    streams = str(tmp_path / "streams")
    a = prepare_clips(seqs, str(tmp_path / "c1"), [(32, 42)], 4, 8, progress=False, base_layer=bl, stream_dir=streams)
    assert len(glob.glob(os.path.join(streams, "*", "*.vvc"))) == 1
    b = prepare_clips(seqs, str(tmp_path / "c2"), [(32, 42)], 4, 8, progress=False, base_layer=bl, stream_dir=streams)
    assert np.array_equal(a[0].decoded[(32, 42)], b[0].decoded[(32, 42)]) and a[0].decoded[(32, 42)].shape[0] == 8
    vv = ["--BaseLayerEncoder", "vvenc", "--BaseLayerCodec", "vvc", "--VvencEncoder", vvenc, "--VvencPreset", "faster"]
    assert trainer_main(_args(seq_list, tmp_path, "--Steps", "2", "--BaseLayerQPPairs", "42/32", *vv)) == 0
    assert trainer_main(_args(seq_list, tmp_path / "x", "--Steps", "1", "--BaseLayerEncoder", "vvenc")) == 1
    err = capsys.readouterr().err
    assert "BaseLayerEncoder vvenc writes VVC: set BaseLayerCodec vvc" in err and "Traceback" not in err


def test_base_skips_start_at_zero_and_learn_at_their_own_rate(seq_list, tmp_path):
    """BaseSkips 1 from an InitModel without them: the new 1x1 convolutions start at zero (InitModel's function),
    are trained with NewTensorLrScale x the learning rate (Adam moves a weight by about its learning rate per step),
    the other tensors with the learning rate; the model file says generator.base_skips."""
    import torch
    from CommonLib.generation.network_config import tiny_config
    from CommonLib.network.hdac_hf import HdacHfModel
    from CommonLib.network.model_file import save_model
    torch.manual_seed(0)
    init = str(tmp_path / "init.safetensors")
    save_model(HdacHfModel(tiny_config()), init, "init")
    assert trainer_main(_args(seq_list, tmp_path, "--Steps", "3", "--InitModel", init, "--BaseSkips", "1",
                              "--LearningRate", "0.0001", "--NewTensorLrScale", "20", "--ValidateEvery", "0",
                              "--ValidationFrames", "0", "--CropSize", "64")) == 0
    log = json.load(open(tmp_path / "run" / "training_log.json"))
    model, _ = load_model(str(tmp_path / "run" / "model.safetensors"), log["sha256"])
    first, _ = load_model(init)
    assert model.cfg.generator.base_skips
    skip = max(float(c.weight.detach().abs().max()) for c in model.generator.base_skip)
    moved = max(float((a - b).detach().abs().max()) for (n, a), (_, b) in
                zip(model.named_parameters(), first.named_parameters()) if "base_skip" not in n)
    # Adam's step is about lr (up to ~1.5 lr in its first steps with beta1 0.5)
    assert 1e-3 < skip <= 3 * 20 * 1e-4 * 1.5 and moved <= 3 * 1e-4 * 1.5 and skip > 5 * moved


def test_generalisation_gap_study_refuses_unknown_clips(capsys):
    """tools.studies.generalisation_gap names a clip that is not a training clip of the list (e.g. a test
    sequence) in a one-line error, before any work."""
    from tools.studies.generalisation_gap import main
    assert main(["resource:models/hdac_hf_small_v2.safetensors", "--TrainClips", "ctc01_lp_d6"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "ctc01_lp_d6" in err[0]


def test_colour_augmentation(seq_list, tmp_path):
    """ColourJitter / ChannelPermute: every sample's four pictures get one transform, x' = clip(g x_perm + o),
    drawn within the option's bounds; without them the draws use the random generator as before."""
    import numpy as np
    import torch

    from Utilities.sequence_list import read_sequence_list
    from TrainingLib.training_data import Draw, PairSampler, prepare_clips
    seqs = read_sequence_list(seq_list, "train")
    pairs = [(27, 44), (27, 50)]
    clips = prepare_clips(seqs, str(tmp_path / "cache"), pairs, 4, 8, progress=False)
    plain_a, plain_b = PairSampler(clips, pairs, 5, crop=64), PairSampler(clips, pairs, 5, crop=64,
                                                                         colour_jitter=0.0, channel_permute=0.0)
    assert [plain_a.draw() for _ in range(6)] == [plain_b.draw() for _ in range(6)]
    aug = PairSampler(clips, pairs, 5, crop=64, colour_jitter=0.3, channel_permute=1.0)
    draws = [aug.draw() for _ in range(40)]
    assert all(d.colour.perm != (0, 1, 2) and sorted(d.colour.perm) == [0, 1, 2] for d in draws)
    assert all(0.7 <= g <= 1.3 for d in draws for g in d.colour.gain)
    assert all(-0.15 <= o <= 0.15 for d in draws for o in d.colour.offset)
    assert len({d.colour.gain for d in draws}) == 40                      # drawn per sample
    got, _, _ = aug.batch_of(draws[:3])
    bare = [Draw(**{**d.__dict__, "colour": None}) for d in draws[:3]]
    ref, _, _ = aug.batch_of(bare)
    for x, y in zip(got, ref):                                            # key, key source, base layer, target
        for i, d in enumerate(draws[:3]):
            g = torch.tensor(d.colour.gain).view(3, 1, 1)
            o = torch.tensor(d.colour.offset).view(3, 1, 1)
            assert torch.allclose(x[i], (y[i][list(d.colour.perm)] * g + o).clamp(0, 1), atol=1e-6)
    jitter_only = PairSampler(clips, pairs, 5, colour_jitter=0.1)
    assert all(jitter_only.draw().colour.perm == (0, 1, 2) for _ in range(20))
    assert not np.isclose(float(got[3].mean()), float(ref[3].mean()))


def test_real_clips_only_and_bad_colour_options(seq_list, tmp_path, capsys):
    """TrainSynthetic 0 leaves out the clips marked synthetic (train_vx_tys here); out-of-range colour options
    are one-line errors."""
    assert trainer_main(_args(seq_list, tmp_path, "--Steps", "1", "--TrainSynthetic", "0", "--ColourJitter", "0.2",
                              "--ChannelPermute", "0.5", "--ValidateEvery", "0", "--ValidationFrames", "0")) == 0
    assert "1 training clips" in capsys.readouterr().out
    for opt, val in (("ColourJitter", "1"), ("ColourJitter", "-0.1"), ("ChannelPermute", "1.5")):
        assert trainer_main(_args(seq_list, tmp_path, "--Steps", "1", f"--{opt}", val)) == 1
        err = capsys.readouterr().err
        assert opt in err and len(err.strip().splitlines()) == 1


def test_no_validation_points_without_validation_pictures(seq_list, tmp_path):
    """ValidationFrames 0 turns validation off, whatever ValidateEvery says (no empty, NaN points in the curve)."""
    assert trainer_main(_args(seq_list, tmp_path, "--Steps", "2", "--ValidateEvery", "1",
                              "--ValidationFrames", "0")) == 0
    assert json.load(open(tmp_path / "run" / "curve.json"))["curve"] == []
    assert json.load(open(tmp_path / "run" / "training_log.json"))["final_validation"] == {}


def test_local_post_filter_study_network():
    """tools.studies.local_post_filter: the CNN starts as the base layer (last convolution zero), each output
    sample depends only on the (2 Layers + 1)^2 samples around it, and the MAC count is the convolutions'."""
    import torch
    from tools.studies.local_post_filter import local_network, macs_per_picture, main
    net = local_network(3, 4)
    x = torch.rand(1, 3, 20, 20)
    assert torch.equal(net(x), x)
    for conv in net.convs:
        torch.nn.init.normal_(conv.weight)
    x.requires_grad_(True)
    net(x)[0, :, 10, 10].sum().backward()
    rows, cols = torch.nonzero(x.grad[0].abs().sum(0), as_tuple=True)
    assert (int(rows.min()), int(rows.max()), int(cols.min()), int(cols.max())) == (7, 13, 7, 13)
    assert macs_per_picture(3, 4, 10, 10) == 9 * (3 * 4 + 4 * 4 + 4 * 3) * 100
    assert macs_per_picture(3, 4, 10, 10, inputs=6) == 9 * (6 * 4 + 4 * 4 + 4 * 3) * 100
    assert main(["--Layers", "1"]) == 1
    fusion = local_network(3, 4, inputs=6)                      # --KeyInput: a second picture, just as local
    second = torch.rand(1, 3, 20, 20)
    assert torch.equal(fusion(x.detach(), second), x.detach())
    for conv in fusion.convs:
        torch.nn.init.normal_(conv.weight)
    second.requires_grad_(True)
    fusion(x.detach(), second)[0, :, 10, 10].sum().backward()
    rows, cols = torch.nonzero(second.grad[0].abs().sum(0), as_tuple=True)
    assert (int(rows.min()), int(rows.max()), int(cols.min()), int(cols.max())) == (7, 13, 7, 13)


def test_grafted_local_filter_is_the_refinement(tmp_path, capsys):
    """tools.studies.graft_local_filter: the grafted model's picture is P + F(P), P the model's picture and F the
    study's filter as saved and loaded again; the other tensors are the model's; a file that is not the study's
    is a one-line error."""
    import torch
    from CommonLib.generation.network_config import tiny_config
    from CommonLib.network.hdac_hf import HdacHfModel
    from CommonLib.network.model_file import save_model
    from tools.studies.graft_local_filter import main
    from tools.studies.local_post_filter import load_filter, local_network, save_filter
    torch.manual_seed(3)
    src = HdacHfModel(tiny_config()).eval()
    save_model(src, str(tmp_path / "m.safetensors"), "m")
    filt = local_network(3, 5)
    for conv in filt.convs:
        torch.nn.init.normal_(conv.weight, std=0.2)
    save_filter(filt, str(tmp_path / "f.safetensors"), 3, 5, 1234)
    again = local_network(3, 5)
    assert load_filter(again, str(tmp_path / "f.safetensors")) == 1234
    assert main([str(tmp_path / "m.safetensors"), str(tmp_path / "f.safetensors"), str(tmp_path / "g.safetensors")]) == 0
    grafted, meta = load_model(str(tmp_path / "g.safetensors"))
    assert (grafted.cfg.generator.refine_layers, grafted.cfg.generator.refine_channels) == (3, 5)
    assert json.loads(meta["grafted_local_filter"])["filter_samples"] == 1234
    key, base = torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        kp = src.detect(key)
        p = src.generate(key, base, kp, kp)
        want = again(p).clamp(0, 1)
        got = grafted.generate(key, base, kp, kp)
    assert torch.allclose(got, want, atol=1e-6) and not torch.allclose(got, p, atol=1e-3)
    assert main([str(tmp_path / "m.safetensors"), str(tmp_path / "m.safetensors"), str(tmp_path / "x.safetensors")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--SaveFilter" in err
    save_filter(local_network(3, 5, inputs=6), str(tmp_path / "k.safetensors"), 3, 5, 8, key_input="m.safetensors")
    assert main([str(tmp_path / "m.safetensors"), str(tmp_path / "k.safetensors"), str(tmp_path / "y.safetensors")]) == 1
    assert "a refinement sees one picture" in capsys.readouterr().err


def test_refinement_starts_as_the_init_model_and_is_trained(seq_list, tmp_path, capsys):
    """RefineLayers from an InitModel without a refinement: its convolutions are new tensors (random, the last one
    zero: the InitModel's pictures at first) trained at NewTensorLrScale x the rate; RefineLayers 1 is refused."""
    import torch
    from CommonLib.generation.network_config import tiny_config
    from CommonLib.network.hdac_hf import HdacHfModel
    from CommonLib.network.model_file import save_model
    torch.manual_seed(0)
    init = str(tmp_path / "init.safetensors")
    save_model(HdacHfModel(tiny_config()), init, "init")
    common = ["--InitModel", init, "--LearningRate", "0.0001", "--ValidateEvery", "0", "--ValidationFrames", "0",
              "--CropSize", "64", "--RefineChannels", "5"]
    assert trainer_main(_args(seq_list, tmp_path, "--Steps", "3", "--RefineLayers", "3", "--NewTensorLrScale", "20",
                              *common)) == 0
    log = json.load(open(tmp_path / "run" / "training_log.json"))
    model, _ = load_model(str(tmp_path / "run" / "model.safetensors"), log["sha256"])
    g = model.cfg.generator
    assert (g.refine_layers, g.refine_channels) == (3, 5) and model.generator.refine[1].weight.shape[:2] == (5, 5)
    last = float(model.generator.refine[-1].weight.detach().abs().max())
    assert 1e-3 < last <= 3 * 20 * 1e-4 * 1.5
    assert trainer_main(_args(seq_list, tmp_path / "x", "--Steps", "1", "--RefineLayers", "1", *common)) == 1
    err = capsys.readouterr().err
    assert "RefineLayers" in err and len(err.strip().splitlines()) == 1


def _numbered_clip(n: int, keys: list, size: int = 16):
    """A ClipCache whose source picture i is grey level 20 + 15 i and decoded picture 5 levels above (I420,
    U = V = 128)."""
    import numpy as np
    from TrainingLib.training_data import ClipCache

    def pictures(offset):
        pics = np.full((n, size * 3 // 2, size), 128, np.uint8)
        for i in range(n):
            pics[i, :size] = 20 + 15 * i + offset
        return pics
    return ClipCache("numbered", pictures(0), {(37, 50): pictures(5)}, np.array(keys), size, size)


def test_recurrent_study_sampler_and_recurrence():
    """tools.studies.recurrent_local_filter: a sample is Unroll consecutive pictures inside one key period whose
    reference is the picture before the first (the key picture or a base-layer picture); the recurrence feeds each
    output to the next picture, and starts as the base layer (last convolution zero)."""
    import numpy as np
    import torch
    from tools.studies.local_post_filter import local_network
    from tools.studies.recurrent_local_filter import SequenceSampler, recurrent_outputs
    clip = _numbered_clip(12, [0, 5, 10])
    sampler = SequenceSampler([clip], [(37, 50)], seed=4, crop=8, unroll=3)
    dec_level = [clip.rgb(clip.decoded[(37, 50)], i).mean() / 255 for i in range(12)]
    src_level = [clip.rgb(clip.source, i).mean() / 255 for i in range(12)]

    def index(x, levels):
        return int(np.argmin([abs(float(x.mean()) - v) for v in levels]))
    starts = set()
    for _ in range(20):
        ref, bases, targets, lam = sampler.batch(2)
        assert ref.shape == (2, 3, 8, 8) and len(bases) == len(targets) == 3 and lam.shape == (2,)
        for j in range(2):
            idx = [index(b[j], dec_level) for b in bases]
            src = [index(t[j], src_level) for t in targets]
            first = index(ref[j], dec_level) + 1
            assert idx == src == list(range(first, first + 3))
            assert not set(idx) & {0, 5, 10}                    # never across a key picture
            starts.add(first - 1 in (0, 5, 10))
    assert starts == {True, False}                              # from the key picture and from a base-layer picture
    net = local_network(3, 4, inputs=6)
    bases = [torch.rand(1, 3, 12, 12) for _ in range(3)]
    assert all(torch.equal(o, b) for o, b in zip(recurrent_outputs(net, torch.rand(1, 3, 12, 12), bases), bases))
    for conv in net.convs:
        torch.nn.init.normal_(conv.weight, std=0.3)
    with torch.no_grad():
        a = recurrent_outputs(net, torch.zeros(1, 3, 12, 12), bases)
        b = recurrent_outputs(net, torch.ones(1, 3, 12, 12), bases)
        assert not torch.allclose(a[2], b[2])                   # the key picture reaches the third picture
        assert torch.equal(b[1], net(bases[1], b[0]).clamp(0, 1))


def test_key_distance_buckets_and_filter_kinds(tmp_path, capsys):
    """tools.studies.key_distance: distances 1..99 fall in one bucket each; a recurrent filter (two pictures in
    sequence) is refused as a one-picture filter, with a one-line error."""
    from tools.studies.key_distance import BUCKETS, bucket_of, main
    from tools.studies.local_post_filter import local_network, save_filter
    assert [bucket_of(d) for d in (0, 1, 2, 3, 99, 100)] == [-1, 0, 0, 1, len(BUCKETS) - 1, -1]
    assert all(sum(lo <= d <= hi for lo, hi in BUCKETS) == 1 for d in range(1, 100))
    save_filter(local_network(2, 3, inputs=6), str(tmp_path / "r.safetensors"), 2, 3, 0, inputs="base,previous_output")
    assert main([str(tmp_path / "r.safetensors")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not one picture at a time" in err


def test_recurrent_study_starts_as_a_base_layer_filter(tmp_path):
    """recurrent_local_filter --InitFilter with a base-layer filter: the recurrent filter computes that filter
    whatever the previous output picture; a filter of another shape is a one-line ConfigError."""
    import pytest
    import torch
    from Utilities.errors import ConfigError
    from tools.studies.local_post_filter import local_network, save_filter
    from tools.studies.recurrent_local_filter import init_from
    base = local_network(3, 4)
    for conv in base.convs:
        torch.nn.init.normal_(conv.weight, std=0.3)
    save_filter(base, str(tmp_path / "b.safetensors"), 3, 4, 77)
    net = local_network(3, 4, inputs=6)
    assert init_from(net, str(tmp_path / "b.safetensors"), 3, 4) == 77
    x = torch.rand(1, 3, 12, 12)
    with torch.no_grad():
        assert torch.allclose(net(x, torch.rand(1, 3, 12, 12)), base(x), atol=1e-6)
    with pytest.raises(ConfigError, match="not a base-layer filter"):
        init_from(local_network(3, 5, inputs=6), str(tmp_path / "b.safetensors"), 3, 5)


def test_block_motion_finds_known_displacements():
    """tools.studies.block_motion_key: full search finds an integer displacement of a textured picture, the
    half-sample refinement a half-sample one; the per-sample flow is constant over each block and the
    compensated picture equals the target inside the picture."""
    import torch
    from tools.studies.block_motion_key import block_motion, shifted
    torch.manual_seed(3)
    ref = torch.nn.functional.avg_pool2d(torch.rand(1, 3, 70, 70), 3, 1)[:, :, :64, :64]   # smooth texture
    true = torch.zeros(1, 2, 64, 64)
    true[:, 0], true[:, 1] = 3.0, -2.0
    target = shifted(ref, true)
    flow = block_motion(target, ref, 8, 5)
    inner = (slice(None), slice(None), slice(16, 48), slice(16, 48))
    assert torch.equal(flow[inner], true[inner])
    assert torch.allclose(shifted(ref, flow)[inner], target[inner], atol=1e-6)
    true[:, 0], true[:, 1] = 1.5, 0.5
    flow = block_motion(shifted(ref, true), ref, 8, 3)
    assert torch.equal(flow[inner], true[inner])
    assert torch.equal(flow, flow[:, :, ::8, ::8].repeat_interleave(8, 2).repeat_interleave(8, 3))


def test_block_motion_window_blur_and_oracle_choice():
    """The matching window equals the block when not larger; the Gaussian low-pass keeps a flat picture flat and
    sums to one; the per-block choice takes, in each block, the candidate nearer the truth."""
    import torch
    import torch.nn.functional as F
    from tools.studies.block_motion_key import better_per_block, gaussian_blur, window_sad
    d = torch.rand(1, 1, 32, 32)
    assert torch.equal(window_sad(d, 8, 0), F.avg_pool2d(d, 8))
    assert window_sad(d, 8, 24).shape == (1, 1, 4, 4)
    assert torch.allclose(window_sad(d, 8, 24)[0, 0, 1, 2], F.avg_pool2d(d, 8)[0, 0, 0:3, 1:4].mean())
    assert torch.allclose(gaussian_blur(torch.full((1, 1, 16, 16), 0.3), 1.5), torch.full((1, 1, 16, 16), 0.3))
    truth = torch.zeros(1, 3, 16, 16)
    a, b = torch.full_like(truth, 0.1), torch.full_like(truth, 0.2)
    a[:, :, :8, :8] = 0.5                                    # a is worse in the top-left block only
    pick = better_per_block(a, b, truth, 8)
    assert torch.equal(pick[:, :, :8, :8], b[:, :, :8, :8]) and torch.equal(pick[:, :, 8:, :], a[:, :, 8:, :])
    from tools.studies.block_motion_key import keep_where_close
    kept = keep_where_close(a, b, 8, 0.1 * 255 + 1, 0.0)      # |a - b| = 0.1 except the top-left block (0.3)
    assert torch.equal(kept[:, :, :8, :8], b[:, :, :8, :8]) and torch.equal(kept[:, :, 8:, :], a[:, :, 8:, :])


def test_block_motion_study_refuses_bad_options(capsys):
    """Bad options and clips that are not training clips: a one-line error and exit status 1."""
    from tools.studies.block_motion_key import main
    assert main(["--Block", "1"]) == 1
    assert main(["--Clips", "no_such_clip"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "--Block must be at least 2" in err[0] and "no_such_clip" in err[1]


def test_aligned_recurrent_study_flows_follow_crop_and_mirror():
    """recurrent_local_filter --Align 1: crops start on the 8x8 block grid, each picture of a sample comes with
    the per-sample flow of its blocks (the motion of the crop's blocks; mirrored crops: mirrored, x negated), and
    the recurrence aligns each previous output by it (zero motion: the unaligned recurrence)."""
    import torch
    from tools.studies.local_post_filter import local_network
    from tools.studies.recurrent_local_filter import SequenceSampler, recurrent_outputs

    class Motion:                          # block (by, bx) of picture t moves by (x, y) = (bx + 10 t, -by)
        def blocks(self, c, pair, t):
            by, bx = torch.meshgrid(torch.arange(4.0), torch.arange(4.0), indexing="ij")
            return torch.stack([bx + 10 * t, -by])
    clip = _numbered_clip(12, [0, 6], size=32)
    sampler = SequenceSampler([clip], [(37, 50)], seed=2, crop=16, unroll=2, motion=Motion())
    seen = set()
    for _ in range(30):
        ref, bases, targets, lam, flows = sampler.batch(1)
        assert len(flows) == 2 and flows[0].shape == (1, 2, 16, 16)
        f = flows[0][0]
        assert torch.equal(f, f[:, ::8, ::8].repeat_interleave(8, 1).repeat_interleave(8, 2))
        assert -int(f[1, 0, 0]) in (0, 1, 2) and torch.equal(f[1, 8, 0], f[1, 0, 0] - 1)   # rows of blocks
        xs = f[0, 0, ::8]
        flip = float(xs[0]) < 0
        seen.add(flip)
        assert float(xs[1] - xs[0]) == 1.0                     # mirrored: -(bx + 1), -bx; plain: bx, bx + 1
        assert int(abs(float(xs[0 if not flip else 1]))) % 10 in (0, 1, 2)      # columns on the block grid
        assert torch.equal(flows[1][0, 0], f[0] + (-10 if flip else 10))       # the next picture's motion
    assert seen == {True, False}
    net = local_network(3, 4, inputs=6)
    for conv in net.convs:
        torch.nn.init.normal_(conv.weight, std=0.3)
    bases = [torch.rand(1, 3, 16, 16) for _ in range(2)]
    key = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        zero = [torch.zeros(1, 2, 16, 16)] * 2
        assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(recurrent_outputs(net, key, bases, zero),
                                                                   recurrent_outputs(net, key, bases)))
        one = [torch.ones(1, 2, 16, 16)] * 2
        moved = recurrent_outputs(net, key, bases, one)
        assert not torch.allclose(moved[0], recurrent_outputs(net, key, bases)[0])


def test_recurrent_study_key_reference_and_drop(tmp_path):
    """--Reference key: every sample starts at a picture of its period with that period's key picture as
    reference; --DropReference zeroes exactly the previous output's weights."""
    import numpy as np
    import torch
    from tools.studies.local_post_filter import local_network
    from tools.studies.recurrent_local_filter import SequenceSampler
    clip = _numbered_clip(12, [0, 5, 10])
    sampler = SequenceSampler([clip], [(37, 50)], seed=5, crop=8, unroll=2, reference="key")
    dec_level = [clip.rgb(clip.decoded[(37, 50)], i).mean() / 255 for i in range(12)]

    def index(x):
        return int(np.argmin([abs(float(x.mean()) - v) for v in dec_level]))
    firsts = set()
    for _ in range(30):
        ref, bases, _, _ = sampler.batch(1)
        first, key = index(bases[0][0]), index(ref[0])
        assert key in (0, 5) and key < first and first + 1 < (5 if key == 0 else 10)
        firsts.add(first - key)
    assert len(firsts) > 1                                      # not only right after the key picture
    from tools.studies.recurrent_local_filter import drop_reference
    net = local_network(3, 4, inputs=6)
    for conv in net.convs:
        torch.nn.init.normal_(conv.weight, std=0.3)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    drop_reference(net)
    x = torch.rand(1, 3, 12, 12)
    with torch.no_grad():
        assert torch.equal(net(x, torch.rand(1, 3, 12, 12)), net(x, torch.zeros(1, 3, 12, 12)))
    after = net.state_dict()
    assert torch.equal(after["convs.0.weight"][:, :3], before["convs.0.weight"][:, :3])
    assert all(torch.equal(after[k], before[k]) for k in before if k != "convs.0.weight")
