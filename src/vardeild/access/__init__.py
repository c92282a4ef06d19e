"""Who may do what: roles, principals, the one permission check, and API tokens."""
