// SPDX-License-Identifier: MIT

//go:build race

package dtlstest

// RaceEnabled reports whether the race detector is on. sync.Pool drops
// items at random under it, so allocation counts are meaningless there.
const RaceEnabled = true
