// SPDX-License-Identifier: MIT

//go:build linux

package dtlstest

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"
	"unsafe"
)

// stackT is the kernel's stack_t on 64-bit Linux.
type stackT struct {
	sp    uintptr
	flags int32
	_     int32
	size  uintptr
}

// SignalFrame sends the calling thread SIGURG, the signal the Go runtime
// preempts goroutines with, and returns a copy of the thread's signal
// stack once the handler has run. The kernel saved every register of the
// moment of the call in the signal frame there, vector registers included,
// and nothing wipes it: a test that just copied a key calls it to see
// whether the copy left the key in a register for a signal to keep.
//
// It runs nothing that uses vector registers before the signal, so the
// frame holds what the caller left in them.
func SignalFrame() ([]byte, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var alt stackT
	if _, _, e := syscall.RawSyscall(syscall.SYS_SIGALTSTACK, 0, uintptr(unsafe.Pointer(&alt)), 0); e != 0 {
		return nil, fmt.Errorf("sigaltstack: %v", e)
	}
	pid, tid := syscall.Getpid(), syscall.Gettid()
	if _, _, e := syscall.RawSyscall(syscall.SYS_TGKILL, uintptr(pid), uintptr(tid), uintptr(syscall.SIGURG)); e != 0 {
		return nil, fmt.Errorf("tgkill: %v", e)
	}
	if alt.flags&0x2 != 0 || alt.size == 0 { // SS_DISABLE: the frame went on the stack itself
		return nil, fmt.Errorf("the thread has no signal stack")
	}
	mem, err := os.Open("/proc/self/mem")
	if err != nil {
		return nil, err
	}
	defer mem.Close()
	frame := make([]byte, alt.size)
	if _, err := mem.ReadAt(frame, int64(alt.sp)); err != nil {
		return nil, fmt.Errorf("reading the signal stack: %v", err)
	}
	return frame, nil
}

// HoldsMasked reports whether mem holds the key that masked is, XORed
// with mask.
func HoldsMasked(mem, masked []byte, mask byte) bool { return indexMasked(mem, masked, mask) >= 0 }

// indexMasked is where in mem the key that masked is, XORed with mask,
// begins, or -1. It looks for the first byte with bytes.IndexByte, which
// is fast even under the race detector, and compares the rest one byte at
// a time, making no copy of the key.
func indexMasked(mem, masked []byte, mask byte) int {
	for at := 0; at+len(masked) <= len(mem); at++ {
		i := bytes.IndexByte(mem[at:len(mem)-len(masked)+1], masked[0]^mask)
		if i < 0 {
			return -1
		}
		at += i
		j := 1
		for j < len(masked) && mem[at+j] == masked[j]^mask {
			j++
		}
		if j == len(masked) {
			return at
		}
	}
	return -1
}

// KeyCopies lists where the key that masked is, XORed with mask, lies in
// the process's writable memory: each as its address and its line of
// /proc/self/maps.
func KeyCopies(masked []byte, mask byte) ([]string, error) {
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return nil, err
	}
	mem, err := os.Open("/proc/self/mem")
	if err != nil {
		return nil, err
	}
	defer mem.Close()
	buf := make([]byte, 1<<20)
	defer clear(buf)
	own := uintptr(unsafe.Pointer(&buf[0]))
	var found []string
	for _, line := range strings.Split(string(maps), "\n") {
		var lo, hi uintptr
		var perm string
		if n, _ := fmt.Sscanf(line, "%x-%x %s", &lo, &hi, &perm); n != 3 || perm[1] != 'w' {
			continue
		}
		// Chunks overlap by len(masked)-1 bytes, so a copy across two is
		// seen; buf itself holds what it just read, and is left out.
		for at := lo; at < hi; at += uintptr(len(buf) - (len(masked) - 1)) {
			want := min(int(hi-at), len(buf))
			n, _ := mem.ReadAt(buf[:want], int64(at))
			for i := 0; ; i++ {
				k := indexMasked(buf[i:max(n, i)], masked, mask)
				if k < 0 {
					break
				}
				i += k
				if where := at + uintptr(i); where < own || where >= own+uintptr(len(buf)) {
					found = append(found, fmt.Sprintf("%#x in %s", where, line))
				}
			}
			if n < want {
				break
			}
		}
	}
	return found, nil
}

// MaskedKey returns a random n-byte key, both XORed with mask (what a test
// keeps, to look for the key with) and as it is, made a byte at a time so
// that making it leaves no other copy.
func MaskedKey(n int, mask byte) (masked, key []byte) {
	masked = make([]byte, n)
	rand.Read(masked)
	key = make([]byte, n)
	for i := range key {
		key[i] = masked[i] ^ mask
	}
	return masked, key
}
