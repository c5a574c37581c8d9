"""EncoderLib: keypoint extraction, base-layer encoding, GFV SEI writing, reconstruction."""
