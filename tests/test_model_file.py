import json

import pytest
import torch

from Utilities.errors import ModelError
from CommonLib.generation.network_config import tiny_config
from CommonLib.network.hdac_hf import HdacHfModel
from Utilities.files import sha256_file
from CommonLib.network.model_file import load_model, save_model


def test_save_load_round_trip_and_sha256(tmp_path):
    torch.manual_seed(3)
    m = HdacHfModel(tiny_config("highpass8")).eval()
    p = str(tmp_path / "m.safetensors")
    digest = save_model(m, p, "unit", extra={"note": {"steps": 3}})
    assert digest == sha256_file(p) and len(digest) == 64
    m2, meta = load_model(p, digest)
    assert meta["sha256"] == digest and meta["model_name"] == "unit"
    assert json.loads(meta["note"]) == {"steps": 3}
    assert m2.cfg == m.cfg
    for (k, a), (_, b) in zip(m.state_dict().items(), m2.state_dict().items()):
        assert torch.equal(a, b), k


def test_tampered_file_is_refused(tmp_path):
    p = tmp_path / "m.safetensors"
    digest = save_model(HdacHfModel(tiny_config()), str(p), "unit")
    data = bytearray(p.read_bytes())
    data[-5] ^= 1
    p.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="tampered"):
        load_model(str(p), digest)


def test_bad_model_files(tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        load_model(str(tmp_path / "none.safetensors"))
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}")
    with pytest.raises(ModelError, match="not a valid safetensors"):
        load_model(str(junk))
    from safetensors.torch import save_file
    other = tmp_path / "other.safetensors"
    save_file({"x": torch.zeros(2)}, str(other), metadata={"format": "something"})
    with pytest.raises(ModelError, match="not an HDAC-HF model"):
        load_model(str(other))


def test_shipped_models_verify(tmp_path):
    from CommonLib.generation.model_registry import MODEL_DIR
    import os
    index = os.path.join(MODEL_DIR, "models.json")
    assert os.path.exists(index), "the shipped model index is missing"
    entries = json.load(open(index))
    assert {"hdac_hf_small_v2", "hdac_plus_small"} <= set(entries)
    for name, e in entries.items():
        path = os.path.join(MODEL_DIR, e["file"])
        model, meta = load_model(path, e["sha256"])
        assert meta["model_name"] == name
        assert os.path.getsize(path) < 16 * 1024 * 1024
        assert model.cfg.generator.hf_filter == e["hf_filter"]
        # the integer models that bitstreams name, made from this float model: its conversion (same name, when
        # still shipped) and copies with a ResidualScale table or the integer keypoint detector
        from CommonLib.fixed_point.int_model_file import IntegerModelFile
        assert e["integer_models"] and all(i.startswith(name) for i in e["integer_models"])
        for iname, ie in e["integer_models"].items():
            imf = IntegerModelFile(os.path.join(MODEL_DIR, ie["file"]), ie["sha256"])
            assert imf.source_model_sha256 == e["sha256"] and imf.model_name == iname
            assert imf.config.to_dict() == model.cfg.to_dict() and imf.residual_scale == ie["residual_scale"]
            assert os.path.getsize(imf.path) < 16 * 1024 * 1024


def test_gpu_experiment_weights_are_the_documented_ones():
    """The GPU experiment's model files (removed from the tree: hdac_hf_small_v2 is their renamed copy) are the
    ones whose SHA-256 the model card, the gate points and hdac_hf_small_v2's provenance record name; the gate
    points agree in length and rate with the 250-picture CTC on the x265 medium base layer
    (doc/results/ctc_x265medium_250f), the CTC they
    were measured beside."""
    import glob
    import json
    import os

    from CommonLib.generation.model_registry import MODEL_DIR
    from CommonLib.network.model_file import read_metadata
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    card = open(os.path.join(root, "doc", "model_card.md")).read()
    float_sha = json.loads(read_metadata(os.path.join(MODEL_DIR, "hdac_hf_small_v2.safetensors"))["renamed_from"])["sha256"]
    points = glob.glob(os.path.join(root, "doc", "results", "gpu_model_gates", "points", "*.json"))
    assert len(points) == 12
    int_shas = {json.load(open(p))["model_sha256"] for p in points}
    assert len(int_shas) == 1 and float_sha in card and next(iter(int_shas)) in card
    for p in points:
        res = json.load(open(p))
        ctc = json.load(open(os.path.join(root, "doc", "results", "ctc_x265medium_250f", "points",
                                      os.path.basename(p))))
        assert res["float_model_sha256"] == float_sha and res["model_sha256"] in card
        assert res["frames"] == ctc["frames"] and res["kbps"] == pytest.approx(ctc["kbps"], rel=0.05)


def test_v2_models_are_the_documented_weights_with_a_held_out_residual_scale_fit():
    """hdac_hf_small_v2 = the GPU-trained weights (renamed; the integer tensors are those of the GPU
    experiment's conversion), hdac_plus_small_v2 = the tensors of the retired hdac_plus_small.hfim (the SHA-256 of
    their data, recorded in the model card); both tables were fitted on the training clips that the training
    recipe held out for validation, never on clips the model trained on."""
    import json
    import os

    from CommonLib.fixed_point.int_model_file import IntegerModelFile
    from CommonLib.generation.model_registry import MODEL_DIR
    from Utilities.files import sha256_bytes, sha256_file
    from CommonLib.network.model_file import read_metadata
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    v2 = os.path.join(MODEL_DIR, "hdac_hf_small_v2.safetensors")
    meta = read_metadata(v2)
    card = open(os.path.join(root, "doc", "model_card.md")).read()
    assert json.loads(meta["renamed_from"])["sha256"] in card        # the GPU experiment's float file
    for name, float_file in (("hdac_hf_small_v2", v2),
                             ("hdac_plus_small_v2", os.path.join(MODEL_DIR, "hdac_plus_small.safetensors"))):
        imf = IntegerModelFile(os.path.join(MODEL_DIR, name + ".hfim"))
        assert imf.model_name == name and imf.sha256 in card
        assert imf.source_model_sha256 == sha256_file(float_file)
        held_out = json.loads(read_metadata(float_file)["training_recipe"])["ValidationSequences"].split(",")
        fit = imf.header["residual_scale_fit"]
        assert sorted(fit["clips"]) == sorted(held_out)
        assert imf.residual_scale[44] < 64          # at QP 44 the output leans towards the base layer
    plus = IntegerModelFile(os.path.join(MODEL_DIR, "hdac_plus_small_v2.hfim"))
    line = next(l for l in card.splitlines() if "tensor data of the retired `hdac_plus_small.hfim`" in l)
    assert sha256_bytes(plus.data) in line


def test_the_integer_model_format_table_gives_each_shipped_file_its_sha256_and_size():
    """doc/integer_model_format.md clause 4 names every shipped integer model with its SHA-256 and byte count."""
    import os
    import re

    from Utilities.files import sha256_file
    from CommonLib.generation.model_registry import MODEL_DIR
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    doc = open(os.path.join(root, "doc", "integer_model_format.md")).read()
    rows = re.findall(r"^\| `[^`]+`[^|]*\| `([^`]+\.hfim)` \| `([0-9a-f]{64})` \| ([0-9 ]+) \|", doc, re.M)
    shipped = sorted(f for f in os.listdir(MODEL_DIR) if f.endswith(".hfim"))
    assert sorted(r[0] for r in rows) == shipped
    for name, sha, size in rows:
        path = os.path.join(MODEL_DIR, name)
        assert sha256_file(path) == sha and os.path.getsize(path) == int(size.replace(" ", ""))


def test_the_kpd_model_is_v2_plus_the_integer_keypoint_detector():
    """hdac_hf_small_v2_kpd: every tensor and the table of hdac_hf_small_v2, and the detector.* layers."""
    import os

    import numpy as np

    from CommonLib.fixed_point.int_model_file import IntegerModelFile
    from CommonLib.generation.model_registry import MODEL_DIR
    v2 = IntegerModelFile(os.path.join(MODEL_DIR, "hdac_hf_small_v2.hfim"))
    kpd = IntegerModelFile(os.path.join(MODEL_DIR, "hdac_hf_small_v2_kpd.hfim"))
    assert all(np.array_equal(a, kpd.arrays[n]) for n, a in v2.arrays.items())
    extra = set(kpd.arrays) - set(v2.arrays)
    assert extra and all(n.startswith("detector.") or n == "const.kp_temperature" for n in extra)
    assert kpd.residual_scale == v2.residual_scale and kpd.source_model_sha256 == v2.source_model_sha256
    assert kpd.header["conversion"]["keypoint_detector"] == 1 and kpd.network().has_detector
    assert not v2.network().has_detector
