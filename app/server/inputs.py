"""Text the API accepts: checked at the boundary, before any stage (embedder, tokenizer, index) sees it.

`SafeText` refuses text holding an unpaired UTF-16 surrogate (``"\\ud800"`` in JSON: not Unicode, it
can't be encoded as UTF-8), a NUL or another control character (tab, newline and carriage return
excepted): such text broke the embedder or silently changed what was retrieved. The refusal is a 422
naming the character and its position. `StrictBool`/`StrictInt` refuse ``0``, ``"true"`` or ``"5"``
where the schema says boolean or integer. `file_name_problem` refuses upload names a multipart header
should never yield (before the knowledge base applies the chat UI's rules to the rest).
"""
from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, Strict
from pydantic_core import PydanticCustomError

_REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
TEXT_PATTERN = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"
"""The same rule in the OpenAPI document (JSON can't carry an unpaired surrogate as valid text)."""


def check_text(value: Any) -> Any:
    """`value` unchanged, or a ``text_invalid`` error naming the first character refused."""
    if isinstance(value, str):
        found = _REFUSED.search(value)
        if found is not None:
            code = ord(found.group())
            what = "an unpaired surrogate" if 0xD800 <= code <= 0xDFFF else "a control character"
            raise PydanticCustomError(
                "text_invalid",
                "Text may not contain {what} (U+{code}, at position {position}); send valid UTF-8 text "
                "without control characters (tab and newline are fine)",
                {"what": what, "code": f"{code:04X}", "position": found.start()},
            )
    return value


SafeText = Annotated[str, BeforeValidator(check_text), Field(json_schema_extra={"pattern": TEXT_PATTERN})]
StrictBool = Annotated[bool, Strict()]
StrictInt = Annotated[int, Strict()]


def file_name_problem(name: str) -> str | None:
    """Why an uploaded file's name is refused at the boundary: control characters (C0 and C1), unpaired
    surrogates, invisible formatting characters (a right-to-left override can disguise a name), or a
    double quote (what is left of a malformed ``Content-Disposition`` header); None when it is fine."""
    for char in name:
        kind = unicodedata.category(char)
        if kind in ("Cc", "Cs"):
            return "the file name contains control characters"
        if kind == "Cf":
            return f"the file name contains an invisible formatting character (U+{ord(char):04X})"
    if '"' in name:
        return "the file name contains a double quote (was the multipart header malformed?)"
    return None
