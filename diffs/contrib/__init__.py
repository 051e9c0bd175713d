"""Integrations with other packages; each is imported only by a project that uses it."""
