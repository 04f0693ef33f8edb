"""Everything the portal knows about Confluence Cloud, free of Django.

- ``confluence.converter``: Markdown to Confluence storage format.
- ``confluence.client``: the REST API client (v2 for pages, v1 where v2 has no endpoint).
- ``confluence.standin``: an in-memory Confluence stand-in server for tests, the demo and benchmarks.
"""
