"""A small PNG reader (standard library): the colours of a screenshot, to check what a page showed."""

from __future__ import annotations

import struct
import zlib
from collections import Counter
from pathlib import Path


def _unfilter(rows: bytes, width: int, height: int, bpp: int) -> list[bytearray]:
    stride = width * bpp
    out, prev, pos = [], bytearray(stride), 0
    for _row in range(height):
        ftype, line = rows[pos], bytearray(rows[pos + 1 : pos + 1 + stride])
        pos += 1 + stride
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up = prev[i]
            corner = prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + left) & 0xFF
            elif ftype == 2:
                line[i] = (line[i] + up) & 0xFF
            elif ftype == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif ftype == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        out.append(line)
        prev = line
    return out


def colours(path: Path) -> Counter:
    """Counter of (r, g, b) over the pixels of an 8-bit RGB or RGBA, non-interlaced PNG."""
    data = Path(path).read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG")
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, ctype, _c, _f, interlace = header
    if depth != 8 or ctype not in (2, 6) or interlace:
        raise ValueError(f"{path}: only 8-bit RGB/RGBA non-interlaced PNGs are read here")
    bpp = 3 if ctype == 2 else 4
    counts: Counter = Counter()
    for line in _unfilter(zlib.decompress(idat), width, height, bpp):
        for i in range(0, len(line), bpp):
            counts[(line[i], line[i + 1], line[i + 2])] += 1
    return counts


def hex_rgb(text: str) -> tuple[int, int, int]:
    text = text.lstrip("#")
    return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)
