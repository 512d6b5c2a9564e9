// SPDX-License-Identifier: MIT

package cookie

import (
	"testing"
	"time"
)

// systemNow tells the wall time as time.Now does, and takes a new reading
// of the wall clock once its last one is older than wallRefresh: a base an
// hour stale, as after a clock step, is not used.
func TestSystemNow(t *testing.T) {
	within := func(t *testing.T) {
		t.Helper()
		for range 1000 {
			before := time.Now()
			got := systemNow()
			after := time.Now()
			if got.Before(before.Add(-time.Millisecond)) || got.After(after.Add(time.Millisecond)) {
				t.Fatalf("systemNow() = %v, time.Now() from %v to %v", got, before, after)
			}
		}
	}
	within(t)
	stale := time.Now().Add(-time.Hour)
	wallBase.Store(&stale)
	within(t)
	if base := wallBase.Load(); time.Since(*base) >= wallRefresh {
		t.Fatalf("the stale base (%v) was kept", *base)
	}
}
