"""The bitstream syntax (doc/bitstream_syntax.md): one syntax function per structure, shared by reader and
writer, with traces.

``bit_io`` (bit reader/writer, Exp-Golomb, traces), ``nal_unit`` (HEVC and VVC NAL unit headers, emulation
prevention), ``access_units`` (splitting a stream into access units), ``sei_message`` (SEI message framing),
``access_unit_sei`` (the SEI messages of an access unit), ``gfv_sei`` (the GFV SEI, both syntax versions),
``picture_hash_sei`` (decoded and generated picture MD5s), ``hevc_slice_qp`` / ``vvc_slice_qp`` (SliceQpY from the
parameter sets, picture and slice headers), ``slice_qp`` (the parser of a codec), ``keypoint_coding`` (keypoint quantisation and prediction), ``bit_accounting`` (the bits
of an access unit by part).
"""
