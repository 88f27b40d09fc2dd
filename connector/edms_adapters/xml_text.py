"""Text that can go into an XML 1.0 document.

Citizens' texts carry control characters (pasted from anywhere); XML 1.0 cannot hold most of
them at all, so lxml refuses the whole request.  They carry no meaning in an appeal, so they
are dropped; tab, newline and carriage return stay.
"""

from __future__ import annotations

import re

_NOT_IN_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    return _NOT_IN_XML.sub("", text)
