"""A local server speaking Daytona's control-plane and toolbox API, for tests and benchmarks.

The unmodified `daytona` SDK talks to it over HTTP on loopback. Each sandbox is a host directory
(bound at /home/daytona under bubblewrap), each command a real subprocess. Faults are switched per
test through `DaytonaTestServer.faults`.
"""

from tests.daytona_server.faults import Fault, Faults
from tests.daytona_server.server import DaytonaTestServer, running_server

__all__ = ["DaytonaTestServer", "Fault", "Faults", "running_server"]
