"""Monitoring: sensor and report events in, attributed, matched and aggregated alerts out."""
