"""The community reports: figures computed from the books, rendered to PDF and HTML.

Never imports flask or app (see docs/architecture.md).
"""
