"""The vulnerability overview: exposures, scans, CVE/KEV/EPSS knowledge, matching, findings."""
