// SPDX-License-Identifier: MIT

package main

import "testing"

// A call that found the server's handle before dtlsgate_server_free() and
// gets the lock after free looked for workers to stop must be refused: a
// listen let through then started workers nobody stopped, bound a port for
// good and wrote events to the eventfd free closes, which by then may be
// another descriptor of the application.
func TestReview4FindingListenDuringFree(t *testing.T) {
	var h *_Ctype_struct_dtlsgate_server
	if st := dtlsgo_server_new(nil, &h); st != 0 {
		t.Fatalf("server_new: %d", st)
	}
	x, ok := lookupServer(h)
	if !ok {
		t.Fatal("no server behind the handle")
	}
	// A poll in progress holds free back after it has stopped the server
	// and closed freed: the moment another thread's call may get the lock.
	x.pollMu.Lock()
	freed := make(chan struct{})
	go func() {
		defer close(freed)
		dtlsgo_server_free(h)
	}()
	<-x.freed
	// That other thread looked x up before free removed the handle.
	st := x.with(func(x *cServer) _Ctype_int { return x.listen("127.0.0.1:0") })
	x.pollMu.Unlock()
	<-freed
	if st == 0 {
		x.stop() // end the workers the listen started
		t.Fatal("listen succeeded on a server being freed: its workers outlive free")
	}
	if st != -2 { // DTLSGATE_E_BAD_HANDLE, as for a handle already freed
		t.Fatalf("listen on a server being freed returned %d", st)
	}
}
