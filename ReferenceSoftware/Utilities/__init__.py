"""Utilities: what every app needs and no codec concept: errors, cfg files and options, the app runner,
output files written atomically, video reading and writing (with the BT.709 integer colour conversion of
doc/decoding_process.md clause 2, which every app reads and writes pictures with), sequence lists and
picture metrics. Imports no codec library and no app.
"""
