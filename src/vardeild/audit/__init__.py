"""The audit trail: who changed what, when, and the state before and after."""
