"""EncoderApp: ``python -m EncoderApp -c cfg/encoder.yaml``."""
