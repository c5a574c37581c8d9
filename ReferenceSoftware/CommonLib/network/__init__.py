"""HDAC-HF network modules (float PyTorch reference of every network operation).

One idea per module, after first-order-model's layout: ``blocks`` (conv blocks, hourglass, warp),
``keypoint_detector`` (encoder side), ``dense_motion`` (flow + occlusion), ``hf_shuttling`` (paper eqs. 2-3),
``generator`` (fusion + eqs. 4-5), ``hdac_hf`` (the three networks in one model), ``model_file`` (safe model
files with SHA-256 identity). The configurations are CommonLib.generation.network_config.
"""
