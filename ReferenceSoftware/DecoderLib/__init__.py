"""DecoderLib: the decoder as a generator of pictures (bitstream -> access units -> base-layer pictures and
GFV SEI -> output pictures, with MD5 verdicts) and the syntax-only parse mode.

Imports CommonLib and Utilities only: never EncoderLib, TrainingLib, EvalLib or an app.
"""
