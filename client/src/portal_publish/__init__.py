"""portal-publish: publish Markdown to Confluence through the Markdown → Confluence portal, from CI."""

__version__ = "0.1.0"
