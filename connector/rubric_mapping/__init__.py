"""POS categories → SSTU thematic classifier mapping (see the rubric mapping issue)."""
