"""The constituency: organisations, their networks, ASNs, domains, contacts and keys."""
