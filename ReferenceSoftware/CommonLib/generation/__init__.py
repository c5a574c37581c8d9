"""The picture generation process (doc/decoding_process.md), shared by DecoderLib and EncoderLib.

``picture_reconstruction`` (the process per picture), ``integer_picture_generator`` (the normative integer
network), ``float_picture_generator`` (non-normative, ``--FloatInference``; the only module here that loads
the float network, lazily), ``residual_scaling`` (ResidualScale[SliceQpY]), ``model_registry`` (models by
name or SHA-256), ``network_config`` (network configurations, plain data), ``base_layer_decoder`` (HEVC/VVC
pictures through FFmpeg), ``picture_log`` (picture kinds and the per-picture line).
"""
