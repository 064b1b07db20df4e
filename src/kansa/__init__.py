"""kansa (監査): see who touched personal data, catch the insider, trace a leak, report it on time.

The Python API is the product; the CLI and the web UI are thin layers over it.
"""

from kansa.model.errors import KansaError
from kansa.model.workspace import Workspace, init_workspace, open_workspace

__version__ = "0.1.0"

__all__ = ["KansaError", "Workspace", "__version__", "init_workspace", "open_workspace"]
