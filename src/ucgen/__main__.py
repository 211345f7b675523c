import sys

from ucgen.cli.main import main

sys.exit(main())
