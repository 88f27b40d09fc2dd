"""Notices for the staff who answer for deadlines: early warnings before the POS term, new-message
notices, a daily digest per unit, and the applicant's rating loop (control tasks for the curator)."""
