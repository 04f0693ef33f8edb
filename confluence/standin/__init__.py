"""An in-memory stand-in for Confluence Cloud, true to Atlassian's OpenAPI documents for the operations the portal
uses, for tests, the demo (``make run``) and benchmarks. Free of Django.

    python -m confluence.standin --port 8090 [--pages 10000 --spaces 5 --users 2000 --latency-ms 50]

In a test: ``with StandinServer(port=0) as server: ConfluenceClient(base_url=server.url, ...)``.
"""

from confluence.standin.faults import Fault, FractionFault, Knobs
from confluence.standin.server import StandinServer
from confluence.standin.state import DEFAULT_EMAIL, DEFAULT_TOKEN, SERVICE_ACCOUNT_ID

__all__ = ["DEFAULT_EMAIL", "DEFAULT_TOKEN", "SERVICE_ACCOUNT_ID", "Fault", "FractionFault", "Knobs", "StandinServer"]
