"""`python -m shared.openapi PATH` (`make openapi`): write the document to PATH."""

import sys
from pathlib import Path

from shared.openapi import document_text

if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python -m shared.openapi PATH")
    Path(sys.argv[1]).write_text(document_text(), encoding="utf-8")
