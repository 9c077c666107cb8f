#!/usr/bin/env bash
# The GPU check, in one call on a machine with a CUDA device (about 5 minutes, at most 8):
#
#     bash benchmarks/device_check.sh          # writes results/device_check.md
#     bash benchmarks/device_check.sh --cpu    # a dry run of the same steps on the CPU, with tiny sizes; its report
#                                              # goes to a temporary file (named at the end), not to results/
#
# It runs the tests marked `device` (tests/test_device.py) there, a short training and a test evaluation of
# ProtoNet and of MAML through the CLI, and benchmarks/maml_batching.py (tasks looped over against vmap), and
# writes the figures with the command, the date and the hardware. A failing test is reported and the other
# steps still run; the script then exits with 1. The .venv is made or updated first, as scripts/test.sh does:
# on a CUDA machine, pip's torch==2.13.0 must be a CUDA build.
source "$(dirname "$0")/../scripts/_venv.sh" lab,test  # the extras of scripts/test.sh, so that neither reinstalls
case "${1:-}" in
    "") device=cuda report=results/device_check.md
        steps=(--steps 2000 --max-minutes 1 --val-every 500 --val-episodes 100) episodes=600 repeats=5 ;;
    --cpu) device=cpu report="$(mktemp -t device_check_cpu.XXXXXX.md)"
        steps=(--steps 3 --val-every 3 --val-episodes 4) episodes=10 repeats=1 ;;
    *) echo "usage: bash benchmarks/device_check.sh [--cpu]   (--cpu: a dry run on the CPU with tiny sizes)" >&2
       exit 2 ;;
esac
python=.venv/bin/python
if [ "$device" = cuda ] && ! "$python" -c "import torch; assert torch.cuda.is_available()" 2> /dev/null; then
    echo "device_check: torch $("$python" -c "import torch; print(torch.__version__)") sees no CUDA device; run it on \
a machine with one (and a CUDA build of torch), or give --cpu for a dry run on the CPU" >&2
    exit 1
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export FEWSHOT_LAB_DATA="$work/data" FEWSHOT_LAB_TEST_DATA="$work/data"  # glyphs generated once, for every step
if [ "$device" = cuda ]; then
    hardware="$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader)"
else
    hardware="$(lscpu | sed -n 's/^Model name: *//p'), $(getconf _NPROCESSORS_ONLN) cores"
fi
started=$SECONDS
{
    echo "# Device check on $device"
    echo
    echo "Command: \`bash benchmarks/device_check.sh${1:+ $1}\`  "
    echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD)  "
    echo "Hardware: $hardware; torch $("$python" -c "import torch; print(torch.__version__)")"
    echo
} > "$work/report.md"

echo "device_check: the tests marked device, on $device"
tests_status=0
FEWSHOT_LAB_TEST_DEVICE=$device "$python" -m pytest -m device tests -q -rs 2>&1 | tee "$work/tests.log" || tests_status=$?
{
    echo "## Tests marked \`device\` (FEWSHOT_LAB_TEST_DEVICE=$device)"
    echo
    tail -n 1 "$work/tests.log"
    echo
    echo "## Short trainings on glyphs, 5-way 1-shot, and $episodes test tasks"
    echo
    echo "| command | trained | test accuracy |"
    echo "| --- | --- | --- |"
} >> "$work/report.md"
for method in protonet maml; do
    options=(--method "$method" "${steps[@]}")
    if [ "$method" = maml ]; then options+=(--meta-batch 4); fi
    train=(.venv/bin/fewshot-lab train "${options[@]}" --device "$device" --out "$work/$method")
    evaluate=(.venv/bin/fewshot-lab evaluate "$work/$method" --episodes "$episodes" --device "$device")
    echo "device_check: ${train[*]}"
    trained="$("${train[@]}" | tail -n 1)"
    echo "$trained"
    scored="$("${evaluate[@]}")"
    echo "$scored"
    echo "| \`fewshot-lab train ${options[*]} --device $device\` | ${trained%%; saved in*} | ${scored#*: } |" >> "$work/report.md"
done

echo "device_check: benchmarks/maml_batching.py on $device"
{
    echo
    echo "## MAML: the tasks of a meta-batch looped over against vmap"
    echo
    "$python" benchmarks/maml_batching.py --device "$device" --repeats "$repeats"
    echo
    echo "Whole check: $((SECONDS - started)) s."
} >> "$work/report.md"
mkdir -p "$(dirname "$report")"
mv "$work/report.md" "$report"
echo "device_check: wrote $report"
if [ "$tests_status" != 0 ]; then
    echo "device_check: tests marked device FAILED (see $report and the output above)" >&2
    exit 1
fi
