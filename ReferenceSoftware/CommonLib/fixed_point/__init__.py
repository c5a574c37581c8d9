"""Fixed-point (integer) decoding process of HDAC-HF (doc/integer_decoding_process.md).

Every tensor of the normative process is a tensor of mathematical integers
(``torch.int64``) with a power-of-two quantiser: value = integer / 2^q.
"""
