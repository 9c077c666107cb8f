"""python -m fewshot_lab.pretrained RUN NAME: export a run's best checkpoint as a shipped model;
python -m fewshot_lab.pretrained --fingerprint NAME: record this CPU's short fingerprint of NAME's recipe (see __init__)."""
import sys

from fewshot_lab.pretrained import FINGERPRINTS, export, record_fingerprint

USAGE = "usage: python -m fewshot_lab.pretrained RUN NAME  |  python -m fewshot_lab.pretrained --fingerprint NAME"

if len(sys.argv) != 3:
    sys.exit(USAGE)
if sys.argv[1] == "--fingerprint":
    cpu, values = record_fingerprint(sys.argv[2])
    print(f"recorded the fingerprint of {sys.argv[2]} on {cpu} in {FINGERPRINTS}: {values}")
else:
    print(f"wrote {export(sys.argv[1], sys.argv[2])}")
