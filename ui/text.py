"""Text from outside shown as itself: a file name, a mirror's error, a fault quoting a file's contents.

Every such text goes into ``st.markdown``, ``st.error``… through ``plain``, so that nothing in it shows as a link,
emphasis or HTML, and no line of it runs on for pages.
"""

from __future__ import annotations

import re

#: Every character Markdown (and Streamlit's extensions: ``:material/…:`` icons, ``$`` maths) gives a meaning.
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-!|<>~$:.])")


def plain(text: str, limit: int = 300) -> str:
    """``text`` shown as itself: on one line, cut to ``limit`` characters, its Markdown escaped."""
    text = " ".join(str(text).split())
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return _MARKDOWN.sub(r"\\\1", text)
