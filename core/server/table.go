// SPDX-License-Identifier: MIT

package server

import (
	"container/heap"
	"net/netip"
	"time"

	"github.com/dtlsgate/dtlsgate/core/session"
)

// conn is one session the server holds: a half-open handshake or an
// established connection.
type conn struct {
	peer    netip.AddrPort
	s       *session.Session
	random  [32]byte // of the ClientHello the session started from
	older   [32]byte // of the handshake from the same address this one replaced, if any
	open    bool     // the handshake completed
	primary *conn    // for a restart (RFC 6347 4.2.8): the established session it will replace
	restart *conn    // for an established session: the handshake that will replace it

	cid        string    // the connection ID the session gave the client, "" without
	identity   []byte    // the client's PSK identity
	active     time.Time // last application data either way (established); when the handshake started (half-open)
	buffered   int       // bytes of Data events not yet taken
	pskPending bool      // the PSK callback answered "later"

	links [2]links // 0: the half-open or the established list; 1: the per-IP half-open list
	due   time.Time
	hidx  int // index in the timer heap, -1 when not in it
}

type links struct{ prev, next *conn }

// list is an intrusive doubly linked list through one of a conn's links,
// oldest first: no allocation per entry, O(1) removal.
type list struct {
	head, tail *conn
	n          int
	k          int // which links
}

func (l *list) pushBack(c *conn) {
	c.links[l.k] = links{prev: l.tail}
	if l.tail != nil {
		l.tail.links[l.k].next = c
	} else {
		l.head = c
	}
	l.tail = c
	l.n++
}

func (l *list) remove(c *conn) {
	lk := &c.links[l.k]
	if lk.prev != nil {
		lk.prev.links[l.k].next = lk.next
	} else {
		l.head = lk.next
	}
	if lk.next != nil {
		lk.next.links[l.k].prev = lk.prev
	} else {
		l.tail = lk.prev
	}
	*lk = links{}
	l.n--
}

// timers orders conns by due time (container/heap): the server serves
// them in order without looking at any other session.
type timers []*conn

func (h timers) Len() int           { return len(h) }
func (h timers) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h timers) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].hidx, h[j].hidx = i, j
}
func (h *timers) Push(x any) {
	c := x.(*conn)
	c.hidx = len(*h)
	*h = append(*h, c)
}
func (h *timers) Pop() any {
	old := *h
	c := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	c.hidx = -1
	return c
}

// set puts c in the heap at due, or takes it out when due is zero.
func (h *timers) set(c *conn, due time.Time) {
	c.due = due
	switch {
	case due.IsZero() && c.hidx >= 0:
		heap.Remove(h, c.hidx)
	case due.IsZero():
	case c.hidx >= 0:
		heap.Fix(h, c.hidx)
	default:
		heap.Push(h, c)
	}
}
