#!/usr/bin/env bash
# Run every test, notebooks included, under two levels of PyTorch's CPU kernels and with 1 and 2 threads, as a
# processor without AVX2 or a one-core laptop would run them; extra arguments go to pytest (e.g. `notebooks`).
# ATEN_CPU_CAPABILITY picks PyTorch's own kernels (default: plain C++; avx2), OMP_NUM_THREADS the threads; -n 0 runs
# in one process, since pytest-xdist's workers take one thread each.
set -uo pipefail
cd "$(dirname "$0")/.."
failed=0
for capability in default avx2; do
    for threads in 1 2; do
        echo "=== ATEN_CPU_CAPABILITY=$capability OMP_NUM_THREADS=$threads"
        ATEN_CPU_CAPABILITY=$capability OMP_NUM_THREADS=$threads bash scripts/test.sh -n 0 -q "$@" || failed=1
    done
done
exit $failed
