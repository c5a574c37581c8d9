#!/usr/bin/env bash
# One CTC point per Slurm array task: line $SLURM_ARRAY_TASK_ID (1-based) of a job list made by
#   python -m EvalApp ctc -c cfg/ctc.yaml --OutputDir results/ctc --ListJobs jobs.txt
# Submit with
#   sbatch --array=1-$(wc -l < jobs.txt) tools/slurm/ctc_array.sh jobs.txt
# (OutputDir must be on storage every node sees). Each job writes its point file whole or not at all; when all
# have finished, the command without --ListJobs finds every point and writes the report.
#SBATCH --job-name=hdac-hf-ctc
#SBATCH --cpus-per-task=1
#SBATCH --output=ctc_%A_%a.log
set -euo pipefail
list="${1:?usage: ctc_array.sh JOBLIST}"
task="${SLURM_ARRAY_TASK_ID:?not a Slurm array task (SLURM_ARRAY_TASK_ID is not set)}"
line="$(sed -n "${task}p" "$list")"
if [ -z "$line" ]; then
    echo "ctc_array.sh: $list has no line $task" >&2
    exit 1
fi
export OMP_NUM_THREADS="${SLURM_CPUS_PER_TASK:-1}"
exec bash -c "$line"
