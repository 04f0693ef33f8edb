"""The Django project: settings, root URLs, the site's own pages and the API plumbing."""

__version__ = "0.1.0"
