//go:build !race

package cookie

const raceEnabled = false
