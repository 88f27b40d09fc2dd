"""МЭДО XML exchange adapter (xdms 2.x documents and notifications, 2.7 transport containers)."""
