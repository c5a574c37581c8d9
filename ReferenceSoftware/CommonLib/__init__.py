"""CommonLib: what both sides of the codec share, by concern.

``syntax/``      the bitstream: bit reading and writing with traces, NAL units, access units, SEI messages,
                 the GFV SEI, the picture hash SEI, the HEVC slice QP, keypoint coding, bit accounting
                 (doc/bitstream_syntax.md)
``generation/``  the picture generation process: reconstruction, the integer and float picture generators,
                 residual scaling, the model registry, network configurations, base-layer decoding, the
                 picture kinds (doc/decoding_process.md)
``fixed_point/`` the normative integer network (doc/integer_decoding_process.md)
``network/``     the float network it is the twin of (training, ``--FloatInference``)
``resources/``   shipped models and the embedded clip

Imports only Utilities (never an encoder, decoder, training or evaluation library, never an app).
"""
