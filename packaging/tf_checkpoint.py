"""Read a TensorFlow "tensor bundle" checkpoint with numpy alone.

Why our own reader: the only pretrained real-music tagger we can ship (musicnn) is stored as a
TF1 checkpoint, and we refuse to depend on TensorFlow (huge, and its old versions no longer
install). The format is small enough to read by hand:

* ``<prefix>.index`` is an SSTable (the LevelDB table format): data blocks of sorted,
  prefix-compressed key/value entries, an index block pointing at them, and a 48-byte footer.
  Each key is a variable name; each value is a ``BundleEntryProto`` (dtype, shape, shard,
  offset, size, crc32c). The empty key holds the ``BundleHeaderProto``.
* ``<prefix>.data-00000-of-00001`` holds the raw little-endian tensor bytes.

Every block and every tensor carries a CRC32C; we check them all, because a silently corrupted
weight would give plausible-looking but wrong tags. Only what musicnn needs is supported
(uncompressed tables, one shard, numeric dtypes); anything else fails loudly.

Run as a script to list a checkpoint's variables: ``python tf_checkpoint.py <prefix>``.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path
from typing import Any, cast

import numpy as np

TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48
BLOCK_TRAILER_SIZE = 5  # 1 byte compression type + 4 bytes masked crc32c

# TensorFlow DataType enum values -> numpy little-endian dtypes (numeric types only).
TF_DTYPES: dict[int, str] = {
    1: "<f4",
    2: "<f8",
    3: "<i4",
    4: "u1",
    5: "<i2",
    6: "i1",
    9: "<i8",
    10: "?",
    17: "<u2",
    19: "<f2",
    22: "<u4",
    23: "<u8",
}


class CheckpointError(Exception):
    """The checkpoint is missing, corrupt, or uses a feature this reader does not support."""


# --- CRC32C (Castagnoli), table driven --------------------------------------------------------


def _crc32c_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC_TABLE = _crc32c_table()


def crc32c(data: bytes, crc: int = 0) -> int:
    """CRC32C of ``data``; pure Python is fast enough for a 10 MB checkpoint (a few seconds)."""
    crc ^= 0xFFFFFFFF
    table = _CRC_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def mask_crc(crc: int) -> int:
    """LevelDB/TF store CRCs "masked" so that a CRC of data containing CRCs stays well mixed."""
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


# --- protobuf wire format: just varints, fixed32 and length-delimited fields -------------------


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise CheckpointError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _proto_fields(buf: bytes) -> list[tuple[int, int | bytes]]:
    """Split a protobuf message into (field number, value) pairs; values are ints or bytes."""
    fields: list[tuple[int, int | bytes]] = []
    pos = 0
    value: int | bytes
    while pos < len(buf):
        tag, pos = _varint(buf, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = struct.unpack_from("<Q", buf, pos)[0], pos + 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            value, pos = buf[pos : pos + length], pos + length
        elif wire == 5:
            value, pos = struct.unpack_from("<I", buf, pos)[0], pos + 4
        else:
            raise CheckpointError(f"unsupported protobuf wire type {wire}")
        fields.append((number, value))
    return fields


def _parse_entry(value: bytes) -> dict:
    """BundleEntryProto: dtype=1, shape=2, shard_id=3, offset=4, size=5, crc32c=6, slices=7."""
    entry: dict[str, Any] = {
        "dtype": 0,
        "shape": [],
        "shard_id": 0,
        "offset": 0,
        "size": 0,
        "crc32c": None,
    }
    for number, field in _proto_fields(value):
        if number == 1:
            entry["dtype"] = field
        elif number == 2:  # TensorShapeProto: dim=2 {size=1}, unknown_rank=3
            for dim_number, dim in _proto_fields(cast(bytes, field)):  # wire type 2: bytes
                if dim_number == 2:
                    size = dict(_proto_fields(cast(bytes, dim))).get(1, 0)
                    entry["shape"].append(size)
        elif number in (3, 4, 5):
            entry[{3: "shard_id", 4: "offset", 5: "size"}[number]] = field
        elif number == 6:
            entry["crc32c"] = field
        elif number == 7:
            raise CheckpointError("sliced (partitioned) variables are not supported")
    return entry


# --- SSTable ---------------------------------------------------------------------------------


def _read_block(table: bytes, offset: int, size: int, where: str) -> bytes:
    if offset + size + BLOCK_TRAILER_SIZE > len(table):
        raise CheckpointError(f"{where}: block runs past the end of the file")
    contents = table[offset : offset + size]
    kind = table[offset + size]
    stored = struct.unpack_from("<I", table, offset + size + 1)[0]
    if mask_crc(crc32c(contents + bytes([kind]))) != stored:
        raise CheckpointError(f"{where}: block checksum mismatch at offset {offset}")
    if kind == 1:
        raise CheckpointError(f"{where}: snappy-compressed tables are not supported")
    if kind != 0:
        raise CheckpointError(f"{where}: unknown block compression type {kind}")
    return contents


def _block_entries(block: bytes) -> list[tuple[bytes, bytes]]:
    """Decode a block: entries share a key prefix with the previous one; restarts are skipped."""
    n_restarts = struct.unpack_from("<I", block, len(block) - 4)[0]
    end = len(block) - 4 - 4 * n_restarts
    entries = []
    key = b""
    pos = 0
    while pos < end:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        value_len, pos = _varint(block, pos)
        key = key[:shared] + block[pos : pos + unshared]
        pos += unshared
        entries.append((key, block[pos : pos + value_len]))
        pos += value_len
    return entries


def read_table(path: str | Path) -> dict[bytes, bytes]:
    """All key/value pairs of an uncompressed LevelDB-format table."""
    table = Path(path).read_bytes()
    if len(table) < FOOTER_SIZE:
        raise CheckpointError(f"{path}: too short to be a table")
    footer = table[-FOOTER_SIZE:]
    if struct.unpack("<Q", footer[-8:])[0] != TABLE_MAGIC:
        raise CheckpointError(f"{path}: bad table magic number")
    pos = 0
    _meta_offset, pos = _varint(footer, pos)
    _meta_size, pos = _varint(footer, pos)
    index_offset, pos = _varint(footer, pos)
    index_size, pos = _varint(footer, pos)
    result: dict[bytes, bytes] = {}
    index = _read_block(table, index_offset, index_size, str(path))
    for _last_key, handle in _block_entries(index):
        block_offset, hpos = _varint(handle, 0)
        block_size, _ = _varint(handle, hpos)
        data = _read_block(table, block_offset, block_size, str(path))
        result.update(_block_entries(data))
    return result


# --- the bundle ------------------------------------------------------------------------------


def read_checkpoint(prefix: str | Path) -> dict[str, np.ndarray]:
    """Every variable of a single-shard checkpoint as a numpy array, each CRC32C verified.

    ``prefix`` is what TF calls the checkpoint path: the files are ``<prefix>.index`` and
    ``<prefix>.data-00000-of-00001`` (musicnn's prefix ends in "/", so its files are ".index").
    """
    prefix = str(prefix)
    index_path = Path(prefix + ".index")
    data_path = Path(prefix + ".data-00000-of-00001")
    for path in (index_path, data_path):
        if not path.is_file():
            raise CheckpointError(f"{path}: checkpoint file not found")
    entries = read_table(index_path)
    header = dict(_proto_fields(entries.pop(b"", b"")))
    if header.get(1, 1) != 1:
        raise CheckpointError(
            f"{index_path}: {header.get(1)!r} shards; only single-shard bundles are supported"
        )
    if header.get(2, 0) != 0:
        raise CheckpointError(f"{index_path}: big-endian bundle not supported")
    data = data_path.read_bytes()
    return {
        key.decode("utf-8"): _read_tensor(key.decode("utf-8"), _parse_entry(value), data, data_path)
        for key, value in sorted(entries.items())
    }


def _read_tensor(name: str, entry: dict, data: bytes, data_path: Path) -> np.ndarray:
    dtype = TF_DTYPES.get(entry["dtype"])
    if dtype is None:
        raise CheckpointError(f"{data_path}: {name}: unsupported dtype enum {entry['dtype']}")
    start, size = entry["offset"], entry["size"]
    raw = data[start : start + size]
    if len(raw) != size:
        raise CheckpointError(f"{data_path}: {name}: tensor runs past the end of the data file")
    if entry["crc32c"] is None:
        raise CheckpointError(f"{data_path}: {name}: entry has no checksum")
    actual = crc32c(raw)
    # TF stores the masked CRC of the tensor bytes; accept only that.
    if mask_crc(actual) != entry["crc32c"]:
        raise CheckpointError(f"{data_path}: {name}: tensor checksum mismatch")
    array = np.frombuffer(raw, dtype=dtype)
    expected = int(np.prod(entry["shape"], dtype=np.int64))
    if array.size != expected:
        raise CheckpointError(
            f"{data_path}: {name}: {array.size} values for shape {entry['shape']}"
        )
    native = np.dtype(dtype).newbyteorder("=")
    return array.reshape(entry["shape"]).astype(native, copy=True)


def main(argv: list[str]) -> int:
    for name, array in read_checkpoint(argv[1]).items():
        print(f"{name}\t{array.dtype}\t{list(array.shape)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
