"""Studies behind the numbers in doc/: presets, operating points, keypoint precision, integer vs float,
motion diagnostics, learning curves. Each writes its table or figure; none is needed to use the codec."""
