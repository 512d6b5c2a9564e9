// SPDX-License-Identifier: MIT

package proxy

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"unsafe"

	"github.com/dtlsgate/dtlsgate/core/server"
	"github.com/dtlsgate/dtlsgate/core/sysrace"
	"golang.org/x/sys/unix"
)

// Backend sockets are plain non-blocking descriptors, not net.UDPConns:
// the runtime's poller would wake for every reply on each of them, and a
// write to a full socket would park the worker that serves every other
// device. Instead a few pollers, each an epoll set of its own that the
// runtime's poller watches as one descriptor, read whatever replies are
// ready in one pass, and a write that would block drops the datagram, as
// UDP may.

// pollEvents is how many ready sockets one pass takes.
const pollEvents = 64

// arenaSize holds a pass's replies until they are handed to the endpoint,
// which copies them: at least arenaSize/maxRecordPlaintext of the largest,
// and every small one of a pass.
const arenaSize = 256 << 10

// dialBackend opens a non-blocking UDP socket connected to backend.
func dialBackend(backend netip.AddrPort) (int, error) {
	family, sa := unix.AF_INET6, unix.Sockaddr(nil)
	if backend.Addr().Is4() {
		family = unix.AF_INET
		sa = &unix.SockaddrInet4{Port: int(backend.Port()), Addr: backend.Addr().As4()}
	} else {
		zone, err := zoneIndex(backend.Addr().Zone())
		if err != nil {
			return -1, err
		}
		sa = &unix.SockaddrInet6{Port: int(backend.Port()), Addr: backend.Addr().As16(), ZoneId: zone}
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	if err := unix.Connect(fd, sa); err != nil {
		unix.Close(fd)
		return -1, os.NewSyscallError("connect", err)
	}
	return fd, nil
}

// zoneIndex returns the interface index an IPv6 zone names ("eth0" or
// "2"); a link-local backend cannot be reached without it.
func zoneIndex(zone string) (uint32, error) {
	if zone == "" {
		return 0, nil
	}
	if i, err := strconv.ParseUint(zone, 10, 32); err == nil {
		return uint32(i), nil
	}
	ifi, err := net.InterfaceByName(zone)
	if err != nil {
		return 0, err
	}
	return uint32(ifi.Index), nil
}

// localAddr returns the address a backend socket got, for the logs.
func localAddr(fd int) string {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return "?"
	}
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port)).String()
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port)).String()
	}
	return "?"
}

// The system calls on backend sockets and poller sets never wait (the
// sockets are non-blocking, epoll_wait is asked not to), so they are made
// raw: without telling the Go scheduler. Told, it treats the thread as
// possibly blocked, and its monitor, seeing a busy proxy in system calls
// all the time, woke every 20 us to hand processors around: a tenth of
// the proxy's time with two workers.

// writeBackend sends one datagram on a backend socket without waiting.
func writeBackend(fd int, data []byte) error {
	sysrace.Read(data)
	_, _, errno := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(data))), uintptr(len(data)))
	if errno != 0 {
		return os.NewSyscallError("write", errno)
	}
	return nil
}

// recvTrunc reads one datagram from a connected socket into buf. With
// MSG_TRUNC, n is the datagram's real length, so one longer than buf is
// seen, not cut. unix.Recvfrom would also decode the sender's address,
// which costs a getsockopt call per datagram.
func recvTrunc(fd int, buf []byte) (n int, err error) {
	sysrace.Write(buf)
	r, _, errno := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(buf))), uintptr(len(buf)),
		unix.MSG_TRUNC, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(r), nil
}

// readyNow returns the sockets of the epoll set epfd that are ready now,
// without waiting.
func readyNow(epfd int, events []unix.EpollEvent) (int, error) {
	for {
		r, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(unsafe.SliceData(events))), uintptr(len(events)),
			0, 0, 0)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return 0, errno
		}
		return int(r), nil
	}
}

// poller reads the replies of its flows' backend sockets and hands them
// to the endpoint.
type poller struct {
	p     *Proxy
	epfd  *os.File // the epoll set, watched by the runtime's poller
	fd    int
	mu    sync.Mutex    // held while adding, closing or reading a socket, so a descriptor is never read once closed
	flows map[int]*flow // backend socket -> its flow
	done  chan struct{} // closed when run returns; nil until it starts
}

func newPoller(p *Proxy) (*poller, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("fcntl", err)
	}
	return &poller{p: p, fd: fd, epfd: os.NewFile(uintptr(fd), "backend-poller"), flows: map[int]*flow{}}, nil
}

// add starts reading f's backend socket.
func (pl *poller) add(f *flow) error {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(f.fd)}
	if err := unix.EpollCtl(pl.fd, unix.EPOLL_CTL_ADD, f.fd, &ev); err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	pl.flows[f.fd] = f
	f.poller = pl
	return nil
}

// close stops reading f's backend socket and closes it.
func (pl *poller) close(f *flow) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if pl.flows[f.fd] != f {
		return
	}
	delete(pl.flows, f.fd)
	unix.EpollCtl(pl.fd, unix.EPOLL_CTL_DEL, f.fd, nil)
	unix.Close(f.fd)
}

// closeAll closes every socket left and ends run.
func (pl *poller) closeAll() {
	pl.mu.Lock()
	for fd := range pl.flows {
		unix.Close(fd)
	}
	clear(pl.flows)
	pl.mu.Unlock()
	pl.epfd.Close()
	if pl.done != nil {
		<-pl.done
	}
}

// reply is a datagram a backend sent, read into the poller's arena.
type reply struct {
	f    *flow
	data []byte
	n    int // its real length, longer than data when cut
	err  error
}

// run reads replies until closeAll. Each pass takes the sockets ready
// now, one datagram from each (the epoll set is level-triggered: a socket
// with more is ready again on the next pass), so one busy device cannot
// starve the others.
func (pl *poller) run() {
	defer close(pl.done)
	raw, err := pl.epfd.SyscallConn()
	if err != nil {
		pl.p.obs.BackendError("read", err)
		return
	}
	events := make([]unix.EpollEvent, pollEvents)
	arena := make([]byte, arenaSize)
	replies := make([]reply, 0, pollEvents)
	deliver := pl.p.deliver
	for {
		var n int
		err := raw.Read(func(fd uintptr) bool {
			n, _ = readyNow(int(fd), events)
			return n > 0
		})
		if err != nil { // closed: the proxy stopped
			return
		}
		replies = pl.pass(events[:max(n, 0)], arena, replies, deliver)
	}
}

// pass reads one datagram from each ready socket and delivers it, an
// arena at a time. Every socket epoll reported is read: epoll reports
// them again in the same order, so a pass that left the rest for the next
// would read the same few busy sockets every time and never the others.
func (pl *poller) pass(ready []unix.EpollEvent, arena []byte, replies []reply, deliver func(*reply)) []reply {
	for len(ready) > 0 {
		replies, ready = pl.read(ready, arena, replies[:0])
		for i := range replies {
			deliver(&replies[i])
			replies[i] = reply{}
		}
	}
	return replies
}

// read takes one datagram from each ready socket while the arena has room
// for the largest, and returns the sockets it had no room for.
func (pl *poller) read(ready []unix.EpollEvent, arena []byte, replies []reply) ([]reply, []unix.EpollEvent) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	for i, ev := range ready {
		if len(arena) < maxRecordPlaintext {
			return replies, ready[i:]
		}
		f, ok := pl.flows[int(ev.Fd)]
		if !ok {
			continue // closed since epoll_wait
		}
		n, err := recvTrunc(f.fd, arena[:maxRecordPlaintext])
		if err == unix.EAGAIN || err == unix.EINTR {
			continue
		}
		if err != nil {
			// An ICMP error reported on the socket (the backend is not
			// listening): the next datagram may fare better.
			replies = append(replies, reply{f: f, err: os.NewSyscallError("recvfrom", err)})
			continue
		}
		got := min(n, maxRecordPlaintext)
		replies = append(replies, reply{f: f, data: arena[:got:got], n: n})
		arena = arena[got:]
	}
	return replies, nil
}

// makePollers makes n pollers, one per worker of the endpoint. Sockets
// can be added to them at once; runPollers starts reading them once the
// endpoint that replies go to is there.
func (p *Proxy) makePollers(n int) error {
	for range n {
		pl, err := newPoller(p)
		if err != nil {
			p.stopPollers()
			return fmt.Errorf("proxy: %v", err)
		}
		p.pollers = append(p.pollers, pl)
	}
	return nil
}

func (p *Proxy) runPollers() {
	for _, pl := range p.pollers {
		pl.done = make(chan struct{})
		go pl.run()
	}
}

// stopPollers closes every backend socket left and stops the pollers.
func (p *Proxy) stopPollers() {
	for _, pl := range p.pollers {
		pl.closeAll()
	}
	p.pollers = nil
}

// pollerOf returns the poller of the endpoint's worker w, one of its own:
// a poller waits for room in the queue of the worker it hands a reply to,
// so one that served several workers would hold the replies of one
// worker's devices back whenever another was busy (a backend flooding its
// devices, say).
// Start makes one per worker before the endpoint can report a session.
func (p *Proxy) pollerOf(w *server.Worker) *poller {
	if pl, ok := p.workerPoller.Load(w); ok {
		return pl.(*poller)
	}
	pl := p.pollers[p.spread.Add(1)%uint64(len(p.pollers))]
	p.workerPoller.Store(w, pl) // only w's own goroutine gets here for w
	return pl
}
