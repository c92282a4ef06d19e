"""Incident reports from the public: what anyone may tell the CERT through the report form,
stored sealed (AES-GCM) so that a copy of the database alone does not give away who reported
what."""
