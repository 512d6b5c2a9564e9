// SPDX-License-Identifier: MIT

//go:build !race

package session

const raceEnabled = false
