// SPDX-License-Identifier: MIT

//go:build race

package cookie

// The race detector makes sync.Pool drop objects at random, so allocation
// counts are meaningless under it.
const raceEnabled = true
