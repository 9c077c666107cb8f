"""python -m fewshot_lab.pretrained RUN NAME: export a run's best checkpoint as a shipped model (see __init__)."""
import sys

from fewshot_lab.pretrained import export

if len(sys.argv) != 3:
    sys.exit("usage: python -m fewshot_lab.pretrained RUN NAME")
print(f"wrote {export(sys.argv[1], sys.argv[2])}")
