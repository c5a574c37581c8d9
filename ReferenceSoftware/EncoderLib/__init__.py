"""EncoderLib: keypoint extraction, base-layer encoding (x265, HM's TAppEncoder, or an external encoder's
stream), the GFV SEI writer and the sequence coding loop; the reconstruction itself is CommonLib.generation's,
the same process DecoderLib runs."""
