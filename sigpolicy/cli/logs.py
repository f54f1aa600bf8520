"""Log lines of the long-running commands, on stderr, whatever the embedding program set up."""

from __future__ import annotations

import logging
import sys

_HANDLER_NAME = "sigpolicy-cli"


def setup_logging(level: str) -> None:
    logger = logging.getLogger("sigpolicy")
    for handler in list(logger.handlers):
        if handler.get_name() == _HANDLER_NAME:
            logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
