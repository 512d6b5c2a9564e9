// SPDX-License-Identifier: MIT

//go:build !race

package cookie

const raceEnabled = false
