"""TrainingLib: what makes a model file, shared by TrainerApp, ConverterApp and conformance/generate.py.

``training_data`` (clips coded as the deployed encoder codes them, key/target pairs, the sample
drawers), ``device_sampler`` (the same draws assembled on a GPU), ``calibration`` (activation
calibration samples), ``converter`` (float model -> integer model), ``residual_scale_fit`` (the
ResidualScale table). Never imported by DecoderLib or the integer decoding process.
"""
