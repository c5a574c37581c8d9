"""EvalApp: common test conditions, metrics, Bjontegaard deltas and reports."""
