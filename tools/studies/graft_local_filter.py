"""A model whose refinement R is a trained local post-filter: the generator's picture P, then P + R(P).

    python -m tools.studies.graft_local_filter MODEL FILTER OUT [--ModelName NAME]

MODEL: a float model file (with or without a refinement); FILTER: the weights that
``tools.studies.local_post_filter --SaveFilter`` wrote. The study's filter, base + C_L(ReLU(... C_1(base))),
is the network of the generator's refinement (CommonLib.network.generator, ``refine_layers`` 3x3
convolutions, ReLU between, residual; the integer process's clause 7.6): OUT is MODEL with
``generator.refine_layers`` / ``refine_channels`` set to the filter's and ``generator.refine.<i>`` = the filter's
``convs.<i>``; every other tensor is MODEL's. If the generator's picture were the base-layer picture, OUT would
be the post-filter exactly; as it is, OUT starts from the filter's gain on top of the generator's, and a
TrainerApp run with ``InitModel`` OUT (RefineLayers / RefineChannels the filter's) trains the two together.
OUT records the filter's SHA-256 and samples (``grafted_local_filter``).
"""
from __future__ import annotations

import argparse
import sys


def graft(model_path: str, filter_path: str, out_path: str, model_name: str = "") -> str:
    """Write OUT (module docstring); returns its SHA-256."""
    from CommonLib.network.hdac_hf import HdacHfModel
    from CommonLib.network.model_file import load_model, save_model
    from Utilities.errors import ConfigError
    from Utilities.files import sha256_file
    from tools.studies.local_post_filter import read_filter
    model, meta = load_model(model_path)
    fmeta, weights = read_filter(filter_path)
    if fmeta.get("inputs", "base") != "base":
        raise ConfigError(f"'{filter_path}' filters {fmeta['inputs']}; a refinement sees one picture")
    layers, channels = int(fmeta["layers"]), int(fmeta["channels"])
    cfg = model.cfg
    cfg.generator.refine_layers, cfg.generator.refine_channels = layers, channels
    out = HdacHfModel(cfg)
    sd = {k: v for k, v in model.state_dict().items() if not k.startswith("generator.refine.")}
    for i in range(layers):
        for part in ("weight", "bias"):
            sd[f"generator.refine.{i}.{part}"] = weights[f"convs.{i}.{part}"]
    out.load_state_dict(sd)
    record = {"filter_sha256": sha256_file(filter_path), "filter_samples": int(fmeta.get("samples", "0")),
              "model_sha256": meta["sha256"]}
    return save_model(out.eval(), out_path, model_name or meta.get("model_name", "grafted"),
                      extra={"grafted_local_filter": record})


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", help="float model file")
    ap.add_argument("filter", help="weights written by tools.studies.local_post_filter --SaveFilter")
    ap.add_argument("out", help="the model file to write")
    ap.add_argument("--ModelName", default="", help="model_name of OUT (default: MODEL's)")
    a = ap.parse_args(argv)
    from Utilities.app_config import resolve_resource
    from Utilities.errors import HdacError
    try:
        digest = graft(resolve_resource(a.model), a.filter, a.out, a.ModelName)
    except HdacError as e:
        print(f"graft_local_filter: error: {e}", file=sys.stderr)
        return 1
    print(f"{a.out}: sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
