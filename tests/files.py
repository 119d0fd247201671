"""Hostile files the tests make, shared with scripts/hostile_files_check.py (which imports them from here,
with no pytest)."""

import io
import struct
import zlib


def png_claiming(width: int, height: int) -> bytes:
    """A 1x1 PNG whose header says width x height: a few hundred bytes that would decode to gigabytes."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (1, 1)).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    start = data.index(b"IHDR")
    data[start + 4:start + 12] = struct.pack(">II", width, height)
    data[start + 17:start + 21] = struct.pack(">I", zlib.crc32(bytes(data[start:start + 17])))
    return bytes(data)
