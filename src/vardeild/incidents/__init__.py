"""Incident handling: cases, their journal, tasks, links and evidence, coordination across the
involved members with coordinated updates, regulatory and service deadlines, and statistics.
The intake hooks other adapters call are listed in `incidents.service`'s docstring."""
