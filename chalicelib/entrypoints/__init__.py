"""Vigil's edge: HTTP routes by area (Chalice blueprints), the pipeline's event handlers, and the
HTTP shapes (errors, JSON views, pages). See docs/architecture.md."""
