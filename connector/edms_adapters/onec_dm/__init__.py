"""1C:Document Management (1С:Документооборот) through its SOAP web service DMService."""

from connector.edms_adapters.onec_dm.adapter import OnecDmAdapter
from connector.edms_adapters.onec_dm.settings import OnecDmSettings

__all__ = ["OnecDmAdapter", "OnecDmSettings"]
