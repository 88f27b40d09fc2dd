"""Files shipped inside the package: the example configuration and the systemd unit.

They travel in the wheel so that an installed copy (offline bundle, .deb, .rpm) can point an
operator at them without a source checkout.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from connector.i18n import _

EXAMPLE_CONFIG = "connector.example.toml"
SYSTEMD_UNIT = "pos-connector.service"


def resource_path(name: str) -> Path:
    path = Path(str(files(__package__).joinpath(name)))
    if not path.is_file():
        raise FileNotFoundError(_("packaged resource {name} is missing from {folder}").format(name=name, folder=path.parent))
    return path
