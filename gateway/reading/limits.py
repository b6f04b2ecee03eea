"""The limits on what a reading gives the rules: how much text, how long a subject, urgent reason or
filename, how deep and how many MIME parts we walk, how many pictured ids we keep. They are public (the
package re-exports them, and tests check readings against them) and live in a module of their own so
every part of the reader can share them without importing the package that re-exports them.
"""

from __future__ import annotations

TEXT_LIMIT = 1_000_000  # characters of body, and separately of quoted history, the rules get
SUBJECT_LIMIT = 1_000
URGENT_LIMIT = 200
FILENAME_LIMIT = 255
MAX_DEPTH = 32  # MIME nesting we walk; deeper parts are ignored
MAX_PARTS = 500  # MIME parts we walk; later parts are ignored
MAX_PICTURED = 100
