"""TrainerApp: trains the HDAC-HF / HDAC+ networks (``python -m TrainerApp -c cfg/train.yaml``)."""
