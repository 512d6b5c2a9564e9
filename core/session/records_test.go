// SPDX-License-Identifier: MIT

package session

// The tests' short forms for records without connection IDs.

func splitRecords(dgram []byte, fn func(record) bool) { splitRecordsCID(dgram, 0, fn) }

func macHeader(h *keyedHash, typ uint8, version, epoch uint16, seq uint64, n int) {
	macHeaderCID(h, typ, version, epoch, seq, nil, n)
}
