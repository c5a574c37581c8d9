"""Copy a float model file under another model name (tensors unchanged).

    python -m tools.maintenance.rename_model SRC.safetensors DST.safetensors NEW_NAME

The shipped models are indexed by the name stored inside them
(tools/maintenance/update_model_index.py), so a model trained under a name that is
already shipped is renamed before it joins them; the copy's metadata
``renamed_from`` records the original name and SHA-256.
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from CommonLib.network.model_file import rename_model  # noqa: E402

if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    print(f"{sys.argv[2]}: sha256 {rename_model(*sys.argv[1:])}")
