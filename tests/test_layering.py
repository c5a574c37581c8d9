"""The layering rules of the libraries and apps (README "Layout"), checked on the import graph.

* Utilities is the bottom layer: it imports no codec library and no app.
* CommonLib sits on it: it imports Utilities only.
* DecoderLib imports CommonLib and Utilities only (never encoder, training or evaluation code, no app).
* EncoderLib and DecoderLib sit side by side on CommonLib: EncoderLib never imports DecoderLib.
* The normative integer decoding process (CommonLib.fixed_point, model_registry, the integer picture
  generator, the reconstruction process, DecoderLib) never imports the float network
  (CommonLib.network) at module level, not even indirectly; only the non-normative float generator
  behind ``--FloatInference`` does, and it is imported lazily.
* Libraries never import apps, and an app never imports another app; apps are only their ``__main__``.
* Nothing outside tests/ imports an app's internals (tools, benchmarks, conformance, training scripts).
"""
import ast
import os
import subprocess
import sys

import pytest

from conftest import ROOT

SRC = os.path.join(ROOT, "ReferenceSoftware")
LIBS = ("Utilities", "CommonLib", "DecoderLib", "EncoderLib", "TrainingLib", "EvalLib")
APPS = ("EncoderApp", "DecoderApp", "TrainerApp", "ConverterApp", "EvalApp")


def _modules():
    out = {}
    for d, _, files in os.walk(SRC):
        for f in files:
            if f.endswith(".py"):
                rel = os.path.relpath(os.path.join(d, f), SRC)[:-3].replace(os.sep, ".")
                out[rel[:-len(".__init__")] if rel.endswith(".__init__") else rel] = os.path.join(d, f)
    return out


MODULES = _modules()


def _imports(path):
    """(module-level imports, all imports) of a file, as absolute module names."""
    tree = ast.parse(open(path, encoding="utf-8").read())
    top, every = set(), set()

    def names(node):
        if isinstance(node, ast.Import):
            return {a.name for a in node.names}
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            return {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        return set()

    for node in tree.body:
        top |= names(node)
    for node in ast.walk(tree):
        every |= names(node)
    known = lambda s: {m for m in s if m in MODULES}
    return known(top), known(every)


IMPORTS = {m: _imports(p) for m, p in MODULES.items()}


def _package(m):
    return m.split(".")[0]


def _closure(start):
    """Every project module imported at module level from ``start``, transitively (parents included)."""
    seen, todo = set(), [start]
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.add(m)
        parts = m.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts)) if ".".join(parts[:i]) in MODULES]
        todo += list(IMPORTS.get(m, (set(), set()))[0])
    return seen


def _violations(rule):
    return sorted(f"{m} imports {i}" for m, (_, every) in IMPORTS.items() for i in every if rule(m, i))


def test_apps_are_only_their_main():
    """An app folder holds its command line (``__main__``) and nothing a second program could import."""
    for app in APPS:
        assert sorted(m for m in MODULES if _package(m) == app) == sorted([app, f"{app}.__main__"]), app


def test_nothing_outside_tests_imports_an_app():
    """tools/, benchmarks/, conformance/ and training/ scripts use the libraries; of an app they may only run its
    command line (``main``) or read its option table (``OPTIONS``, ``*_OPTIONS``), as a user would."""
    hits = []
    for folder in ("tools", "benchmarks", "conformance", "training"):
        for d, _, files in os.walk(os.path.join(ROOT, folder)):
            for f in files:
                if not f.endswith(".py"):
                    continue
                for node in ast.walk(ast.parse(open(os.path.join(d, f), encoding="utf-8").read())):
                    if isinstance(node, ast.Import):
                        hits += [f"{f}: import {a.name}" for a in node.names if _package(a.name) in APPS]
                    elif isinstance(node, ast.ImportFrom) and node.module and _package(node.module) in APPS:
                        hits += [f"{f}: from {node.module} import {a.name}" for a in node.names
                                 if node.module.split(".")[-1] != "__main__"
                                 or not (a.name == "main" or a.name == "OPTIONS" or a.name.endswith("_OPTIONS"))]
    assert hits == []


def test_nothing_edits_sys_path():
    """tools, benchmarks and conformance scripts run against the installed package (``python -m ...``)."""
    hits = []
    for folder in ("tools", "benchmarks", "conformance", "training", "ReferenceSoftware"):
        for d, _, files in os.walk(os.path.join(ROOT, folder)):
            for f in files:
                if f.endswith(".py") and "sys.path.insert" in open(os.path.join(d, f), encoding="utf-8").read():
                    hits.append(os.path.relpath(os.path.join(d, f), ROOT))
    assert hits == []


def test_the_graph_is_read():
    assert "DecoderLib.decoder" in MODULES and "CommonLib.fixed_point.int_network" in MODULES
    assert "CommonLib.generation.picture_reconstruction" in IMPORTS["DecoderLib.decoder"][0]


def test_utilities_is_the_bottom_layer():
    assert _violations(lambda m, i: _package(m) == "Utilities" and _package(i) != "Utilities") == []


def test_common_lib_imports_utilities_only():
    assert _violations(lambda m, i: _package(m) == "CommonLib" and _package(i) not in ("CommonLib", "Utilities")) == []


def test_decoder_lib_imports_common_lib_and_utilities_only():
    assert _violations(lambda m, i: _package(m) == "DecoderLib" and
                       _package(i) not in ("DecoderLib", "CommonLib", "Utilities")) == []


def test_encoder_lib_does_not_import_decoder_lib():
    assert _violations(lambda m, i: _package(m) == "EncoderLib" and _package(i) == "DecoderLib") == []


def test_libraries_never_import_apps_and_apps_never_import_other_apps():
    assert _violations(lambda m, i: _package(m) in LIBS and _package(i) in APPS) == []
    assert _violations(lambda m, i: _package(m) in APPS and _package(i) in APPS and _package(i) != _package(m)) == []


@pytest.mark.parametrize("module", ["CommonLib.fixed_point.int_network", "CommonLib.fixed_point.int_model_file",
                                    "CommonLib.generation.model_registry", "CommonLib.generation.integer_picture_generator",
                                    "CommonLib.generation.picture_reconstruction", "DecoderLib.decoder", "DecoderApp.__main__"])
def test_the_integer_process_does_not_load_the_float_network(module):
    float_net = sorted(m for m in _closure(module) if m == "CommonLib.network" or m.startswith("CommonLib.network.")
                       or m == "CommonLib.generation.float_picture_generator")
    assert float_net == []


def test_only_the_float_generator_reaches_the_float_network_from_the_decoder():
    """The one path from the reconstruction process to the float network is the lazy float generator."""
    top, every = IMPORTS["CommonLib.generation.picture_reconstruction"]
    assert "CommonLib.generation.float_picture_generator" in every - top
    assert "CommonLib.network.model_file" in every - top


def test_a_decoder_run_never_imports_the_float_network():
    """At run time too: DecoderApp decodes a conformance stream without loading CommonLib.network."""
    code = ("import sys; from DecoderApp.__main__ import main; "
            "rc = main(['-b', sys.argv[1], '--Verbose', '0']); "
            "bad = [m for m in sys.modules if m.startswith('CommonLib.network.') or m.startswith('EncoderLib') "
            "or m.startswith('TrainingLib') or m == 'CommonLib.generation.float_picture_generator']; "
            "print('FLOAT', bad); sys.exit(rc)")
    stream = os.path.join(ROOT, "conformance", "bitstreams", "GFV13_HDACPLUS_V2_QP50.bin")
    r = subprocess.run([sys.executable, "-c", code, stream], capture_output=True, text=True, timeout=600,
                       env=dict(os.environ, PYTHONPATH=SRC))
    assert r.returncode == 0, r.stderr
    assert "FLOAT []" in r.stdout
