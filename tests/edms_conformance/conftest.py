import sys
from pathlib import Path

# Harness modules (harness_<adapter>.py) are imported by name from this folder.
sys.path.insert(0, str(Path(__file__).parent))
