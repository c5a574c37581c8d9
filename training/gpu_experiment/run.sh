export T0=$(date +%s) PYTHONUNBUFFERED=1
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .gpu/whl/*.whl || exit 3
export PYTHONPATH=/tmp/site:$PWD/ReferenceSoftware
nvidia-smi -L; nproc
python3 -c "import av, bitstring, torch, safetensors, tqdm, yaml; print(av.__version__, bitstring.__version__, torch.__version__, torch.cuda.is_available())" || exit 4
python3 .gpu/drive.py 2>&1 | tee $OUT/drive.log
ls -la $OUT
