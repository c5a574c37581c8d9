"""DecoderApp: ``python -m DecoderApp -b str.bin -o rec.yuv``."""
