"""python -m fewshot_lab.pretrained RUN NAME: export a run's best checkpoint as a shipped model;
python -m fewshot_lab.pretrained --fingerprint NAME: print the short fingerprint of NAME's recipe (see __init__)."""

import sys

from fewshot_lab.pretrained import export, load_pretrained, short_fingerprint

USAGE = "usage: python -m fewshot_lab.pretrained RUN NAME  |  python -m fewshot_lab.pretrained --fingerprint NAME"

if len(sys.argv) != 3:
    sys.exit(USAGE)
if sys.argv[1] == "--fingerprint":
    shipped = load_pretrained(sys.argv[2]).pretrained["short_fingerprint"]  # refuses an unknown name first
    print(f"short fingerprint of {sys.argv[2]}: {short_fingerprint(sys.argv[2])}; shipped: {shipped}")
else:
    print(f"wrote {export(sys.argv[1], sys.argv[2])}")
