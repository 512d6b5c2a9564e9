// SPDX-License-Identifier: MIT

package cookie

import (
	"testing"
	"time"
)

// systemNow tells the wall time as time.Now does, at most about
// clockRefresh behind it, and keeps up as time goes on.
func TestSystemNow(t *testing.T) {
	// The refresh goroutine may be held up on a loaded machine; a reading
	// more than a second behind would change what a cookie says.
	const late = time.Second
	within := func(t *testing.T) {
		t.Helper()
		before := time.Now()
		got := systemNow()
		after := time.Now()
		if got.Before(before.Add(-late)) || got.After(after) {
			t.Fatalf("systemNow() = %v, time.Now() from %v to %v", got, before, after)
		}
	}
	within(t)
	first := systemNow()
	time.Sleep(3 * clockRefresh)
	within(t)
	if !systemNow().After(first) {
		t.Fatalf("systemNow() stayed at %v for %v", first, 3*clockRefresh)
	}
	// Stale by an hour, as after a step of the system clock: put right
	// within a refresh or so.
	clockNow.Store(time.Now().Add(-time.Hour).UnixNano())
	time.Sleep(3 * clockRefresh)
	within(t)
}
