"""Outbound network requests of ours (feeds, the OpenID provider), guarded in one place."""
