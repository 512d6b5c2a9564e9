// SPDX-License-Identifier: MIT

package cookie

import (
	"sync"
	"sync/atomic"
	"time"
)

// clockRefresh is how often the clock that systemNow reads is brought up to
// date.
const clockRefresh = 100 * time.Millisecond

var (
	clockOnce sync.Once
	clockNow  atomic.Int64 // the wall time, UnixNano, at most about clockRefresh old
)

// systemNow is the generators' default clock: the wall time, at most about
// clockRefresh old. Cookies count whole seconds, yet reading the system
// clock for every check cost a tenth of a warm check (a vDSO call, dearer
// on a virtual machine's clock source) and more when the call comes in cold
// from a host's event loop. So the first reading starts one goroutine for
// the process that keeps the time, waking every clockRefresh, and checks
// and mints read it with one atomic load. A step of the system clock (an
// NTP correction, a resume from suspend) shows within clockRefresh.
func systemNow() time.Time {
	clockOnce.Do(startClock)
	return time.Unix(0, clockNow.Load())
}

func startClock() {
	clockNow.Store(time.Now().UnixNano())
	go func() {
		for now := range time.Tick(clockRefresh) {
			clockNow.Store(now.UnixNano())
		}
	}()
}
