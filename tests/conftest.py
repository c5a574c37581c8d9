import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "ReferenceSoftware"))
sys.path.insert(0, ROOT)                 # tools.<kind>.<name>, as `python -m tools...` from the checkout sees them
SHARED = os.path.join(os.path.dirname(ROOT), "shared")


@pytest.fixture(scope="session")
def example_clip():
    from Utilities.app_config import resolve_resource
    from Utilities.app_config import EXAMPLE_CLIP as DEFAULT_INPUT
    return resolve_resource(DEFAULT_INPUT)


@pytest.fixture(scope="session")
def tiny_float_model_file(tmp_path_factory):
    """A randomly initialised tiny float model (fixed seed) for plumbing tests."""
    import torch
    from CommonLib.generation.network_config import tiny_config
    from CommonLib.network.hdac_hf import HdacHfModel
    from CommonLib.network.model_file import save_model
    torch.manual_seed(0)
    model = HdacHfModel(tiny_config()).eval()
    with torch.no_grad():
        model.generator.final.weight.normal_(0, 0.01)
    path = str(tmp_path_factory.mktemp("model") / "tiny.safetensors")
    save_model(model, path, "tiny_test")
    return path


def convert_for_tests(float_path, out_path, clip, name="tiny_test", pictures=4, detector=False):
    """Integer model of ``float_path`` calibrated on the first pictures of ``clip`` (source as base layer)."""
    from CommonLib.fixed_point.int_model_file import write_integer_model
    from CommonLib.network.model_file import load_model
    from Utilities.video_io import VideoReader
    from TrainingLib.calibration import samples_from_pictures
    from TrainingLib.converter import convert
    model, meta = load_model(float_path)
    samples = samples_from_pictures(model, [p.to_rgb() for p in VideoReader(clip).frames(count=pictures)])
    layers, consts, calib = convert(model, samples, detector=detector)
    write_integer_model(out_path, name, model.cfg, layers, consts, model.kp_detector.state_dict(), meta["sha256"],
                        {"test": True, "activation_q": calib["q"]})
    return out_path


@pytest.fixture(scope="session")
def tiny_detector_model_file(tmp_path_factory, tiny_float_model_file, example_clip):
    """The integer model of ``tiny_float_model_file`` with the integer keypoint detector."""
    return convert_for_tests(tiny_float_model_file, str(tmp_path_factory.mktemp("dmodel") / "tiny_det.hfim"),
                             example_clip, name="tiny_det", detector=True)


@pytest.fixture(scope="session")
def tiny_model_file(tmp_path_factory, tiny_float_model_file, example_clip):
    """The integer model of ``tiny_float_model_file`` (what bitstreams name)."""
    return convert_for_tests(tiny_float_model_file, str(tmp_path_factory.mktemp("imodel") / "tiny.hfim"),
                             example_clip)


JVET_TOOLS = os.path.join(SHARED, "jvet-tools")


@pytest.fixture(scope="session")
def jvet_tools(tmp_path_factory):
    """The JVET reference codecs of ../shared/jvet-tools (HM 18.0, VTM 23.13, VVenC), unpacked by its
    install.sh into a temporary folder: {'dir', 'bin' (name -> path), 'cfg' (name -> path)}."""
    import subprocess
    if not os.path.isfile(os.path.join(JVET_TOOLS, "install.sh")):
        pytest.skip("needs ../shared/jvet-tools (the JVET reference codecs)")
    d = str(tmp_path_factory.mktemp("jvet-tools"))
    out = subprocess.run(["bash", os.path.join(JVET_TOOLS, "install.sh"), d], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    binaries = {n: os.path.join(d, "bin", n) for n in os.listdir(os.path.join(d, "bin"))}
    cfgs = {n: os.path.join(d, "cfg", n) for n in os.listdir(os.path.join(d, "cfg"))}
    return {"dir": d, "bin": binaries, "cfg": cfgs}
