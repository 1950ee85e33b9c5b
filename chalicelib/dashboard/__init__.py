"""The web dashboard: one HTML file with its script and styles inline, served by GET /dashboard."""
