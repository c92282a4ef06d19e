"""Local user accounts of the portal: passwords, TOTP, lockout, sessions and reset links."""
