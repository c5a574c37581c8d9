"""Device driver: prepare the training cache, probe the speed, train HDAC-HF and HDAC+ concurrently.

Kept as run (a record, not a tool). Run 1 probed the speed with 40-step runs and underestimated it (their
start-up counted), so it trained only 1000 steps; run 2 (the recorded models) set STEPS=4000 BS=24 LR=0.0003
(run.sh), which skips the probe: the two placeholder "1 samples/s" probe logs it then writes only keep the
step-budget arithmetic below running and do not influence the Steps used.
"""
import os, re, subprocess, sys, time, json, shutil
T0 = float(os.environ["T0"])
DEADLINE = T0 + float(os.environ.get("BUDGET", "555"))
OUT = os.environ["OUT"]
env = dict(os.environ)
py = sys.executable
SEQ = os.environ.get("SEQ", ".gpu/seq/sequences.yaml")
MAXF = int(os.environ.get("MAXF", "250"))
TMP = os.environ.get("TMPD", "/tmp")
common = ["-c", "cfg/train.yaml", "--SequenceList", SEQ, "--CacheDir", f"{TMP}/cache", "--MaxFramesPerClip", str(MAXF),
          "--NetworkConfig", os.environ.get("NET", "small"), "--Device", os.environ.get("DEV", "cuda"), "--DataOnDevice", "1", "--Threads", "2", "--BatchSize", os.environ.get("BS", "16"),
          "--LearningRate", os.environ.get("LR", "0.0003"), "--Progress", "0", "--Seed", "1"]
t = time.time()
from Utilities.sequence_list import read_sequence_list
from TrainingLib.training_data import prepare_clips
seqs = read_sequence_list(SEQ, "train")
prepare_clips(seqs, f"{TMP}/cache", [(27, q) for q in (44, 46, 48, 50)], 100, MAXF, progress=False, jobs=int(os.environ.get("JOBS", "16")))
print(f"cache prepared in {time.time() - t:.0f} s", flush=True)

def launch(tag, extra, log):
    args = [py, "-m", "TrainerApp", *common, "--OutputDir", f"{TMP}/{tag}", *extra]
    return subprocess.Popen(args, stdout=open(log, "w"), stderr=subprocess.STDOUT, env=env)

plus = ["--HfFilter", "none", "--ModelName", "hdac_plus_small"]
hf = ["--ModelName", "hdac_hf_small"]
probe_steps = 40
FIXED = int(os.environ.get("STEPS", "0"))
t = time.time()
ps = [] if FIXED else [launch("probe_hf", hf + ["--Steps", str(probe_steps), "--ValidateEvery", "0", "--ValidationFrames", "0",
                               "--CheckpointEvery", "0"], f"{TMP}/probe_hf.log"),
      launch("probe_plus", plus + ["--Steps", str(probe_steps), "--ValidateEvery", "0", "--ValidationFrames", "0",
                                   "--CheckpointEvery", "0"], f"{TMP}/probe_plus.log")]
if FIXED:
    open(f"{TMP}/probe_hf.log", "w").write("1 samples/s"); open(f"{TMP}/probe_plus.log", "w").write("1 samples/s")
for p in ps:
    p.wait()
probe_wall = time.time() - t
rates = []
for tag in ("hf", "plus"):
    txt = open(f"{TMP}/probe_{tag}.log").read()
    print(txt[-1500:], flush=True)
    m = re.findall(r"([0-9.]+) samples/s", txt)
    rates.append(float(m[-1]) if m else 0.0)
bs = int(os.environ.get("BS", "16"))
steps_per_s = min(rates) / bs
overhead = probe_wall - probe_steps / max(steps_per_s, 1e-6)    # start-up of a process (imports, data to GPU)
left = DEADLINE - time.time() - max(overhead, 10) - 25          # final validation + saving
steps = int(0.93 * left * steps_per_s)
steps = FIXED or max(100, steps - steps % 50)
decay = int(0.8 * steps)
print(f"probe: {rates} samples/s concurrently, start-up {overhead:.0f} s; {left:.0f} s left -> Steps {steps}, "
      f"decay at {decay}", flush=True)
val = ["--ValidateEvery", str(max(250, steps // 4)), "--CheckpointEvery", "250", "--Steps", str(steps),
       "--LrDecaySteps", str(decay), "--MaxMinutes", f"{max(left - 5, 6) / 60:.3f}"]
ps = {"hf": launch("hf", hf + val, f"{OUT}/hf_train.log"), "plus": launch("plus", plus + val, f"{OUT}/plus_train.log")}
for tag, p in ps.items():
    try:
        p.wait(timeout=max(1, DEADLINE + 20 - time.time()))
    except subprocess.TimeoutExpired:
        p.kill()
    for f in ("model.safetensors", "training_log.json"):
        src = f"{TMP}/{tag}/{f}"
        if os.path.exists(src):
            shutil.copy(src, f"{OUT}/{tag}_{f}")
    if not os.path.exists(f"{TMP}/{tag}/model.safetensors") and os.path.exists(f"{TMP}/{tag}/checkpoint.safetensors"):
        shutil.copy(f"{TMP}/{tag}/checkpoint.safetensors", f"{OUT}/{tag}_checkpoint.safetensors")
        shutil.copy(f"{TMP}/{tag}/checkpoint.json", f"{OUT}/{tag}_checkpoint.json")
print(f"done at {time.time() - T0:.0f} s", flush=True)
