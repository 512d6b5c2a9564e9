// SPDX-License-Identifier: MIT

package cookie

import (
	"sync/atomic"
	"time"
)

// wallRefresh is how often systemNow reads the wall clock itself.
const wallRefresh = 100 * time.Millisecond

// wallBase is the last wall-clock reading systemNow took (with its
// monotonic reading). It is written about every wallRefresh and otherwise
// only read, so concurrent checks do not contend for it.
var wallBase atomic.Pointer[time.Time]

// systemNow is the generators' default clock: the wall time, read more
// cheaply than time.Now, which reads two clocks (wall and monotonic) and so
// costs a fifth of a cookie check. It reads the monotonic clock only and
// adds the time elapsed to a wall-clock reading at most wallRefresh old, so
// a step of the system clock (an NTP correction, a resume from suspend,
// which the monotonic clock does not count) shows within wallRefresh of
// running time.
func systemNow() time.Time {
	if base := wallBase.Load(); base != nil {
		if d := time.Since(*base); d >= 0 && d < wallRefresh {
			return base.Add(d)
		}
	}
	now := time.Now()
	wallBase.Store(&now)
	return now
}
