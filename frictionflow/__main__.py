import sys

from frictionflow.cli import main

sys.exit(main())
