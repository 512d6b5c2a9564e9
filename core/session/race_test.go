// SPDX-License-Identifier: MIT

//go:build race

package session

// The race detector's instrumentation allocates, so allocation counts are
// meaningless under it.
const raceEnabled = true
