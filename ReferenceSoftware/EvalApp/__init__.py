"""EvalApp: the command line of the evaluation (EvalLib holds what it runs)."""
