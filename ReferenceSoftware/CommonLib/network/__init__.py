"""HDAC-HF network modules (float PyTorch reference of every network operation).

One idea per module, after first-order-model's layout:
``config`` (the two configurations), ``blocks`` (conv blocks, hourglass),
``keypoint_detector`` (encoder side), ``dense_motion`` (flow + occlusion),
``hf_shuttling`` (paper eqs. 2-3), ``generator`` (fusion + eqs. 4-5),
``model_file`` (safe model files with SHA-256 identity).
"""
