"""python -m EvalApp <command> [options]

Commands:
  gates    quality gates of the shipped models (generated vs base layer, HDAC-HF vs HDAC+)
"""
from __future__ import annotations

import json
import os
import sys

from CommonLib.app_config import Option, flag, resolve_resource
from CommonLib.app_main import run_app

GATES_OPTIONS = [
    Option("SequenceList", str, "../shared/sequences/sequences.yaml", "YAML sequence list (split 'test' is used)"),
    Option("Sequences", str, "", "comma-separated sequence names (empty = all test sequences)"),
    Option("Models", str, "resource:models/hdac_hf_small.safetensors,resource:models/hdac_plus_small.safetensors",
           "comma-separated model files"),
    Option("BaseLayerQPs", str, "50,44", "comma-separated base-layer QPs"),
    Option("IntraQP", int, 27, "QP of the key picture"),
    Option("Frames", int, 250, "pictures per sequence (at most)"),
    Option("OutputDir", str, "results/gates", "results folder (resumable)"),
    Option("Jobs", int, 2, "parallel processes"),
    flag("Progress", 1, "progress bar"),
]


def run_gates_cmd(cfg) -> int:
    from CommonLib.errors import ConfigError
    from CommonLib.sequence_list import read_sequence_list
    from EvalApp.gates import gates_table, run_gates
    try:
        qps = [int(q) for q in cfg.BaseLayerQPs.split(",")]
    except ValueError:
        raise ConfigError(f"BaseLayerQPs '{cfg.BaseLayerQPs}' is not a list of integers") from None
    names = [n for n in cfg.Sequences.split(",") if n]
    seqs = read_sequence_list(resolve_resource(cfg.SequenceList), "test", names)
    models = [m for m in cfg.Models.split(",") if m]
    for m in models:
        if not os.path.isfile(resolve_resource(m)):
            raise ConfigError(f"model file '{m}' does not exist")
    res = run_gates(seqs, models, qps, cfg.IntraQP, cfg.Frames, cfg.OutputDir, cfg.Jobs, bool(cfg.Progress))
    table = gates_table(res)
    with open(os.path.join(cfg.OutputDir, "gates.md"), "w") as f:
        f.write(table)
    with open(os.path.join(cfg.OutputDir, "gates.json"), "w") as f:
        json.dump(res, f, indent=1)
    print(table)
    return 0


COMMANDS = {"gates": (GATES_OPTIONS, run_gates_cmd)}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] not in COMMANDS:
        print(__doc__.strip(), file=sys.stderr if argv else sys.stdout)
        if argv and argv[0] not in ("-h", "--help"):
            print(f"EvalApp: error: unknown command '{argv[0]}'", file=sys.stderr)
            return 1
        return 0 if argv else 1
    options, body = COMMANDS[argv[0]]
    return run_app(f"EvalApp {argv[0]}", options, argv[1:], body)


if __name__ == "__main__":
    sys.exit(main())
