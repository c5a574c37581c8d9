"""EvalLib: evaluation as JVET runs it, for EvalApp and the studies in tools/.

``ctc`` (the common test conditions: points as jobs), ``coding_point`` (one HDAC-HF point), ``anchor`` (HM,
VTM and x265 anchor points), ``bd_rate`` (Bjontegaard deltas), ``report`` (tables and figures),
``gates`` (the model gates), ``fsim`` and ``perceptual`` (FSIM, LPIPS, DISTS, MS-VGG), ``vgg`` (the VGG-19
features shared with the training losses).
"""
