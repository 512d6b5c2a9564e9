// SPDX-License-Identifier: MIT

package server

import (
	"encoding/binary"
	"net/netip"
	"strconv"
	"syscall"
	"unsafe"

	"github.com/dtlsgate/dtlsgate/core/sysrace"
	"golang.org/x/sys/unix"
)

// batchReader and batchWriter read and write batches of datagrams on a
// worker's socket with recvmmsg and sendmmsg. The calls never wait
// (MSG_DONTWAIT, and the socket is non-blocking: the runtime's poller does
// the waiting), so they are made raw, without telling the Go scheduler. Told, it counts the
// thread as maybe blocked, and on a busy server its monitor thread, woken
// by the first such call after every idle moment, polled every 20 us,
// about a tenth of a proxy's processor time.
type batchReader struct {
	raw    syscall.RawConn
	rhdrs  []mmsghdr
	riovs  []unix.Iovec
	rnames []unix.RawSockaddrInet6 // room for either family's address
	bufs   [][]byte
}

type batchWriter struct {
	raw    syscall.RawConn
	whdrs  []mmsghdr
	wiovs  []unix.Iovec
	wnames []unix.RawSockaddrInet6
}

// mmsghdr is struct mmsghdr: a msghdr and the length the call set.
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
	_   [(unsafe.Sizeof(uintptr(0)) - 4) % unsafe.Sizeof(uintptr(0))]byte
}

func newBatchReader(raw syscall.RawConn, batch, maxDatagram int) *batchReader {
	b := &batchReader{raw: raw, rhdrs: make([]mmsghdr, batch), riovs: make([]unix.Iovec, batch),
		rnames: make([]unix.RawSockaddrInet6, batch), bufs: make([][]byte, batch)}
	for i := range b.bufs {
		b.bufs[i] = make([]byte, maxDatagram)
		b.riovs[i].Base = &b.bufs[i][0]
		b.riovs[i].SetLen(maxDatagram)
		b.rhdrs[i].hdr = unix.Msghdr{Name: (*byte)(unsafe.Pointer(&b.rnames[i])), Iov: &b.riovs[i]}
		b.rhdrs[i].hdr.SetIovlen(1)
	}
	return b
}

func newBatchWriter(raw syscall.RawConn, batch int) *batchWriter {
	return &batchWriter{raw: raw, whdrs: make([]mmsghdr, batch), wiovs: make([]unix.Iovec, batch),
		wnames: make([]unix.RawSockaddrInet6, batch)}
}

// read receives up to a batch of datagrams, waiting for the first in the
// runtime's poller; an error is the socket's (closed, or an ICMP-reported
// one to read past).
func (b *batchReader) read() (int, error) {
	for i := range b.rhdrs {
		sysrace.Write(b.bufs[i])
		// What the last call wrote back: the address's length and the flags.
		b.rhdrs[i].hdr.Namelen = uint32(unsafe.Sizeof(b.rnames[i]))
		b.rhdrs[i].hdr.Flags = 0
	}
	return batchCall(b.raw.Read, unix.SYS_RECVMMSG, b.rhdrs)
}

// received returns datagram i of the last read: its bytes, its sender (ok
// false for an address of no IP family), and whether it was cut to fit.
func (b *batchReader) received(i int) (data []byte, from netip.AddrPort, ok, cut bool) {
	m := &b.rhdrs[i]
	data = b.bufs[i][:m.n]
	cut = m.hdr.Flags&unix.MSG_TRUNC != 0
	from, ok = fromSockaddr(&b.rnames[i])
	return data, from, ok, cut
}

// write sends ds, at most a batch, in one call, waiting in the runtime's
// poller while the socket has no room; it returns how many were sent.
func (b *batchWriter) write(ds []Datagram) (int, error) {
	for i, d := range ds {
		sysrace.Read(d.Data)
		if len(d.Data) > 0 {
			b.wiovs[i].Base = &d.Data[0]
		} else {
			b.wiovs[i].Base = nil
		}
		b.wiovs[i].SetLen(len(d.Data))
		h := &b.whdrs[i].hdr
		*h = unix.Msghdr{Name: (*byte)(unsafe.Pointer(&b.wnames[i])), Namelen: toSockaddr(&b.wnames[i], d.To), Iov: &b.wiovs[i]}
		h.SetIovlen(1)
	}
	n, err := batchCall(b.raw.Write, unix.SYS_SENDMMSG, b.whdrs[:len(ds)])
	clear(b.wiovs[:len(ds)]) // the datagrams are the Server's to reuse
	return n, err
}

// batchCall makes recvmmsg or sendmmsg (trap) over hdrs raw, waiting in
// the runtime's poller (wait: the socket's RawConn Read or Write) while
// the socket has nothing to give or no room. A call a signal interrupted
// is made again at once (not expected of a call that does not wait, but
// waiting in the poller instead would wait for the next datagram).
func batchCall(wait func(func(uintptr) bool) error, trap uintptr, hdrs []mmsghdr) (int, error) {
	var n int
	var errno syscall.Errno
	err := wait(func(fd uintptr) bool {
		for {
			r, _, e := unix.RawSyscall6(trap, fd, uintptr(unsafe.Pointer(&hdrs[0])), uintptr(len(hdrs)), unix.MSG_DONTWAIT, 0, 0)
			if e == unix.EINTR {
				continue
			}
			if e == unix.EAGAIN {
				return false
			}
			n, errno = int(r), e
			return true
		}
	})
	if err != nil {
		return 0, err
	}
	if errno != 0 {
		return 0, errno
	}
	return n, nil
}

// fromSockaddr reads the address recvmmsg left in sa. An IPv6 scope
// becomes a numeric zone, as the C API writes it too.
func fromSockaddr(sa *unix.RawSockaddrInet6) (netip.AddrPort, bool) {
	port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:])
	switch sa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), port), true
	case unix.AF_INET6:
		a := netip.AddrFrom16(sa.Addr)
		if sa.Scope_id != 0 {
			a = a.WithZone(strconv.FormatUint(uint64(sa.Scope_id), 10))
		}
		return netip.AddrPortFrom(a, port), true
	}
	return netip.AddrPort{}, false
}

// toSockaddr writes to into sa and returns its length. IPv4 peers go out
// as AF_INET addresses, which Linux takes on a dual-stack IPv6 socket too;
// a numeric zone is the IPv6 scope.
func toSockaddr(sa *unix.RawSockaddrInet6, to netip.AddrPort) uint32 {
	addr := to.Addr()
	if addr.Is4() || addr.Is4In6() {
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		*sa4 = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: addr.Unmap().As4()}
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa4.Port))[:], to.Port())
		return uint32(unsafe.Sizeof(*sa4))
	}
	*sa = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: addr.As16()}
	if scope, err := strconv.ParseUint(addr.Zone(), 10, 32); err == nil {
		sa.Scope_id = uint32(scope)
	}
	binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], to.Port())
	return uint32(unsafe.Sizeof(*sa))
}
