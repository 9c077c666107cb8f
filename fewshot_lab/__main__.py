import sys

from fewshot_lab.cli import main

sys.exit(main())
