"""Confluence instances, their licenses, and the API tokens issued to clients."""
