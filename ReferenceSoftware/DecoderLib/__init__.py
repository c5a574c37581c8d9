"""DecoderLib: access-unit parsing, SEI handling and the picture generation process.

Never imports EncoderLib or TrainerApp.
"""
