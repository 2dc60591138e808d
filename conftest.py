"""Repository-wide pytest setup: the Guichet test fixtures (vhost, databases, processes)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "tests" / "support"))

pytest_plugins = ["guichet_common.testing"]
