"""The one entity order: the spec's, where every entity comes after those it references (checked there).

Pushes create in this order, so a reference exists in QBO before the record that names it.
"""

from __future__ import annotations

from pipelines.mapping.spec import load_spec

ORDER: tuple[str, ...] = tuple(load_spec().entities)
