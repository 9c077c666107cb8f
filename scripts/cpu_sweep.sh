#!/usr/bin/env bash
# Run every test, notebooks included, under each of torch's CPU kernel levels and with 1 and 2 threads, as a
# processor without AVX2 or a one-core laptop would run them; extra arguments go to pytest.
# ATEN_CPU_CAPABILITY picks PyTorch's kernels, ONEDNN_MAX_CPU_ISA oneDNN's (convolutions); OMP_NUM_THREADS the threads.
set -uo pipefail
cd "$(dirname "$0")/.."
failed=0
for level in "default SSE41" "avx2 AVX2"; do
    read -r capability isa <<< "$level"
    for threads in 1 2; do
        echo "=== ATEN_CPU_CAPABILITY=$capability ONEDNN_MAX_CPU_ISA=$isa OMP_NUM_THREADS=$threads"
        ATEN_CPU_CAPABILITY=$capability ONEDNN_MAX_CPU_ISA=$isa OMP_NUM_THREADS=$threads \
            bash scripts/test.sh -q "$@" || failed=1
    done
done
exit $failed
