"""`python -m hopjax train|evaluate ...`"""

import sys

from ._cli import main


sys.exit(main())
