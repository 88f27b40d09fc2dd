"""Deadline discipline for coordinators: who let a POS term run out, and the reports that say so."""
