"""Mail the CERT sends: its own OpenPGP key, and PGP/MIME signing and encryption (RFC 3156)."""
