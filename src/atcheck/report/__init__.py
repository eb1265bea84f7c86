"""Compliance reports: the run's results as JSON, HTML, Markdown and JUnit XML."""
