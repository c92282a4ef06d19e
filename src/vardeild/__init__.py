"""Vardeild: the platform that runs the services of a sector CERT."""

__version__ = "0.1.0"
