"""``python -m model`` is the ``shaoguan-abm`` command."""

import sys

from model.commands.cli import main

sys.exit(main())
