"""The Confluence directory: each instance's users, spaces, pages and page activity, fetched for reporting."""
