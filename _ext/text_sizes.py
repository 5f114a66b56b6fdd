"""The smallest text of each figure, carried from the kernel that drew it onto the page.

Not a Sphinx extension: a helper of :mod:`compact_images`, :mod:`lazy_animations` and
:mod:`site_kernel`. A picture drawn by matplotlib records its smallest visible text (see
``lib.plots.smallest_text``) as JSON ``{"pt": points, "px": picture pixels, "text": the text}``:

* a figure a cell shows, and each frame of an animation, in the PNG's :data:`KEY` text
  chunk (written with savefig's ``metadata=``: ``site_kernel.figure_bundle`` and
  ``lib.plots.LaidOutOnceWriter``);
* an explorer, in the record of its drawing (``site_kernel.drawn``).

Each picture's ``<img>`` on the page gets it in :data:`ATTRIBUTE` (the smallest over an
animation's frames or an explorer's settings). ``tests/test_phone.py`` reads it with the
picture's ``width`` and its width on a 390 px phone: the text shows at
``px * shown width / width`` CSS px.
"""

from __future__ import annotations

import html
import json

KEY = "Smallest text"  # lib.plots.TEXT_SIZE_KEY (tests/test_extensions.py keeps the two equal)
ATTRIBUTE = "data-smallest-text"


def from_png(image) -> dict:
    """The record in a PNG opened with Pillow, ``{}`` if it has none."""
    text = getattr(image, "text", None) or {}
    return json.loads(text[KEY]) if KEY in text else {}


def smallest(records) -> dict:
    """The record with the fewest pixels among ``records`` (``{}`` for none)."""
    return min((r for r in records if r), key=lambda record: record["px"], default={})


def value(record: dict) -> str:
    """The attribute's value for ``record``, escaped for HTML."""
    return html.escape(json.dumps(record, separators=(",", ":")), quote=True)


def attribute(record: dict) -> str:
    """`` data-smallest-text="..."`` for ``record``, nothing for ``{}``."""
    return f' {ATTRIBUTE}="{value(record)}"' if record else ""
