"""Threat intelligence: indicators, loading them, and matching events against them."""
