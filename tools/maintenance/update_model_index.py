"""Rewrite ReferenceSoftware/CommonLib/resources/models/models.json from the shipped model files.

    python -m tools.maintenance.update_model_index

For every ``*.safetensors`` in the models folder: its SHA-256, size, HF
filter, network configuration name and the training facts stored in its
metadata, and the integer models (``*.hfim``) made from it (a converted model and its copies with a
ResidualScale table, ConverterApp). The index is what tests and doc/model_card.md check the shipped
files against; run this (and commit the result) whenever a model file changes.
"""
import glob
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from CommonLib.generation.model_registry import MODEL_DIR  # noqa: E402
from CommonLib.fixed_point.int_model_file import IntegerModelFile  # noqa: E402
from CommonLib.network.model_file import load_model  # noqa: E402


def main():
    index = {}
    for path in sorted(glob.glob(os.path.join(MODEL_DIR, "*.safetensors"))):
        model, meta = load_model(path)
        recipe = json.loads(meta.get("training_recipe", "{}"))
        index[meta["model_name"]] = {
            "file": os.path.basename(path), "sha256": meta["sha256"], "bytes": os.path.getsize(path),
            "network_config": model.cfg.name, "hf_filter": model.cfg.generator.hf_filter,
            "parameters": sum(p.numel() for p in model.parameters()),
            "training_steps": json.loads(meta.get("training_steps", "0")),
            "training_samples": json.loads(meta.get("training_samples", "0")),
            "seed": recipe.get("Seed"), "recipe": recipe}
    for path in sorted(glob.glob(os.path.join(MODEL_DIR, "*.hfim"))):
        imf = IntegerModelFile(path)
        src = [e for e in index.values() if e["sha256"] == imf.source_model_sha256]
        if not src:
            raise SystemExit(f"{path}: its float model {imf.source_model_sha256} is not shipped")
        conv = imf.header["conversion"]
        src[0].setdefault("integer_models", {})[imf.model_name] = {
            "file": os.path.basename(path), "sha256": imf.sha256, "bytes": os.path.getsize(path),
            "weight_bits": conv["weight_bits"], "calibration_samples": conv["calibration_samples"],
            "residual_scale": imf.residual_scale}
    with open(os.path.join(MODEL_DIR, "models.json"), "w") as f:
        json.dump(index, f, indent=1, sort_keys=True)
        f.write("\n")
    for name, e in index.items():
        print(f"{name}: {e['file']} sha256 {e['sha256']} ({e['bytes']} bytes, {e['training_steps']} steps)")


if __name__ == "__main__":
    main()
