import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "ReferenceSoftware"))
SHARED = os.path.join(os.path.dirname(ROOT), "shared")


@pytest.fixture(scope="session")
def example_clip():
    from CommonLib.app_config import resolve_resource
    from EncoderApp.__main__ import DEFAULT_INPUT
    return resolve_resource(DEFAULT_INPUT)


@pytest.fixture(scope="session")
def tiny_model_file(tmp_path_factory):
    """A randomly initialised tiny model (fixed seed) for plumbing tests."""
    import torch
    from CommonLib.network.config import tiny_config
    from CommonLib.network.hdac_hf import HdacHfModel
    from CommonLib.network.model_file import save_model
    torch.manual_seed(0)
    model = HdacHfModel(tiny_config()).eval()
    with torch.no_grad():
        model.generator.final.weight.normal_(0, 0.01)
    path = str(tmp_path_factory.mktemp("model") / "tiny.safetensors")
    save_model(model, path, "tiny_test")
    return path
