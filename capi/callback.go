// SPDX-License-Identifier: MIT

package main

/*
#include "capi.h"
*/
import "C"

import "sync/atomic"

// callbackThread is the thread running an object's PSK callback, 0 when
// none. That thread holds the object's lock further up its stack, so a
// call from it on the same object must be refused, not wait for itself.
type callbackThread struct{ t atomic.Uintptr }

func (c *callbackThread) enter() { c.t.Store(uintptr(C.capi_thread_self())) }
func (c *callbackThread) leave() { c.t.Store(0) }

// current reports whether the calling thread is inside the callback.
func (c *callbackThread) current() bool {
	t := c.t.Load()
	return t != 0 && t == uintptr(C.capi_thread_self())
}
