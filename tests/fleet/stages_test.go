// SPDX-License-Identifier: MIT

//go:build fleet

package fleet

import (
	"encoding/hex"
	"encoding/json"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// cookieFromAnyNode: a client's first ClientHello goes to one node and the
// one with the cookie to the next, as when a balancer changes its mind in
// between; the second node must take the first one's cookie (no
// HelloVerifyRequest of its own) and complete the handshake. A node with
// another fleet key is the control: it must ask for a cookie of its own.
func (f *fleet) cookieFromAnyNode(t *testing.T) {
	for i, a := range f.nodes {
		b := f.nodes[(i+1)%len(f.nodes)]
		hvr := f.handshakeAcross(t, a, b)
		if hvr[a.addr] != 1 || hvr[b.addr] != 0 {
			t.Errorf("first hello to node %d, second to node %d: HelloVerifyRequests %d from node %d and %d from node %d, want 1 and 0",
				a.id, b.id, hvr[a.addr], a.id, hvr[b.addr], b.id)
		}
	}
	other := f.startNode(t, 200, f.write(t, "other.key", hex.EncodeToString(random(32))))
	defer other.stop(syscall.SIGTERM)
	a := f.nodes[0]
	if hvr := f.handshakeAcross(t, a, other); hvr[other.addr] == 0 {
		t.Errorf("a node with another fleet key took node %d's cookie", a.id)
	}
}

// handshakeAcross connects a client through a switcher from first to rest
// and returns the HelloVerifyRequests each node sent.
func (f *fleet) handshakeAcross(t *testing.T, first, rest *node) map[netip.AddrPort]int {
	sw := startSwitcher(t, first.addr, rest.addr)
	c := f.newClient(99)
	closed := rest.logged("close", c.identity)
	err := c.dial(sw.addr(), time.Now().Add(5*time.Second))
	if err == nil {
		err = c.echo()
	}
	c.close()
	// The switcher must pass the close_notify on before it stops, so that
	// the session does not outlive the stage.
	for wait := time.Now().Add(2 * time.Second); err == nil && rest.logged("close", c.identity) == closed && time.Now().Before(wait); {
		time.Sleep(20 * time.Millisecond)
	}
	hvr := sw.stop()
	if err != nil {
		t.Errorf("first hello to node %d, then node %d: %v", first.id, rest.id, err)
	}
	return hvr
}

// switcher relays a client's first datagram to one node and every later
// one to another, from one socket, so both see the same client address.
type switcher struct {
	front, back *net.UDPConn
	done        sync.WaitGroup
	mu          sync.Mutex
	hvr         map[netip.AddrPort]int
}

func startSwitcher(t *testing.T, first, rest netip.AddrPort) *switcher {
	listen := func() *net.UDPConn {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	s := &switcher{front: listen(), back: listen(), hvr: map[netip.AddrPort]int{}}
	var client netip.AddrPort
	var clientMu sync.Mutex
	s.done.Add(2)
	go func() {
		defer s.done.Done()
		buf := make([]byte, 65536)
		for sent := 0; ; sent++ {
			n, from, err := s.front.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			clientMu.Lock()
			client = from
			clientMu.Unlock()
			to := rest
			if sent == 0 {
				to = first
			}
			s.back.WriteToUDPAddrPort(buf[:n], to)
		}
	}()
	go func() {
		defer s.done.Done()
		buf := make([]byte, 65536)
		for {
			n, from, err := s.back.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			// A record header (13 bytes) of type handshake (22), then
			// the handshake type: 3 is HelloVerifyRequest.
			if n > 13 && buf[0] == 22 && buf[13] == 3 {
				s.mu.Lock()
				s.hvr[from]++
				s.mu.Unlock()
			}
			clientMu.Lock()
			to := client
			clientMu.Unlock()
			s.front.WriteToUDPAddrPort(buf[:n], to)
		}
	}()
	return s
}

func (s *switcher) addr() netip.AddrPort { return s.front.LocalAddr().(*net.UDPAddr).AddrPort() }

func (s *switcher) stop() map[netip.AddrPort]int {
	s.front.Close()
	s.back.Close()
	s.done.Wait()
	return s.hvr
}

// spread connects the clients through nginx, all at once, and checks that
// every node got some and that each client's connection ID names the node
// whose log has its connect line.
func (f *fleet) spread(t *testing.T) []*client {
	all := make([]*client, clients)
	for i := range all {
		all[i] = f.newClient(i)
	}
	f.keepUp(t, all, time.Now().Add(20*time.Second))
	if t.Failed() {
		return nil
	}
	perNode := map[int]int{}
	for _, c := range all {
		perNode[c.node()]++
		f.checkOwner(t, c)
	}
	t.Logf("clients per node id: %v", perNode)
	for _, n := range f.nodes {
		if perNode[n.id] == 0 {
			t.Errorf("node %d got none of %d clients", n.id, clients)
		}
	}
	f.checkSessions(t, all, f.nodes)
	return all
}

// nodeDies kills a node (SIGKILL: no close_notify, no goodbye) and checks
// that its clients notice, connect again through nginx as they would on
// their own, and land on the other nodes within the failover time, while
// the other nodes' clients keep their sessions.
func (f *fleet) nodeDies(t *testing.T, all []*client) {
	victim := f.nodes[1]
	orphans := map[*client]bool{}
	for _, c := range all {
		orphans[c] = c.node() == victim.id
	}
	victim.stop(syscall.SIGKILL)
	killed := time.Now()
	dials := f.keepUp(t, all, killed.Add(failover))
	back := time.Since(killed)
	for _, c := range all {
		switch {
		case orphans[c] && dials[c] == 0:
			t.Errorf("%s was on node %d, which died, and still gets echoes", c.identity, victim.id)
		case orphans[c] && c.node() == victim.id:
			t.Errorf("%s connected again to the dead node %d", c.identity, victim.id)
		case !orphans[c] && dials[c] > 0:
			t.Errorf("%s on node %d lost its session when node %d died", c.identity, c.node(), victim.id)
		}
		f.checkOwner(t, c)
	}
	var live []*node
	for _, n := range f.nodes {
		if n != victim {
			live = append(live, n)
		}
	}
	f.checkSessions(t, all, live)
	// nginx keeps sending new sessions that hash to the dead node there
	// (each ends at the ICMP error); a client dialing from a new port is
	// hashed anew, so some need more than one try.
	most := 0
	for c, n := range dials {
		if orphans[c] {
			most = max(most, n)
		}
	}
	t.Logf("node %d killed: its clients were all back on other nodes after %v, in at most %d handshake attempts (%d sessions to the dead node failed in nginx)",
		victim.id, back.Round(time.Millisecond), most, f.lb.count("recv() failed", `upstream: "`+victim.addr.String()+`"`))
}

// nodeAdded starts a fourth node and adds it to nginx's upstream servers
// with a reload (the dead node stays listed: nobody removed it); new
// clients must reach it, and every client must still be served.
func (f *fleet) nodeAdded(t *testing.T, old []*client) {
	added := f.addNode(t, f.key)
	f.lb.reload(t, f.nodes)
	fresh := make([]*client, 30)
	for i := range fresh {
		fresh[i] = f.newClient(clients + i)
	}
	f.keepUp(t, fresh, time.Now().Add(20*time.Second))
	on := 0
	for _, c := range fresh {
		if c.node() == added.id {
			on++
		}
		f.checkOwner(t, c)
	}
	if on == 0 {
		t.Errorf("node %d, added later, got none of %d new clients", added.id, len(fresh))
	}
	// The old nodes may still hold sessions of clients that dialed again
	// (until their idle timeout); the new node holds only its own.
	f.checkSessions(t, fresh, []*node{added})
	t.Logf("node %d added: %d of %d new clients on it", added.id, on, len(fresh))

	// nginx's old worker has gone, so the new one sends each old client's
	// next datagram from a new socket: the node sees a new address and
	// finds the session by its connection ID, if the hash still picks that
	// node (those it now sends to the new node, or to the dead one, dial
	// again).
	dials := f.keepUp(t, old, time.Now().Add(failover))
	kept := 0
	for _, c := range old {
		if dials[c] == 0 {
			kept++
			if f.nodes[c.node()-nodeIDBase].logged("moved", c.identity) == 0 {
				t.Errorf("%s kept its session through nginx's new socket, but node %d logged no move", c.identity, c.node())
			}
		}
		f.checkOwner(t, c)
	}
	if kept == 0 {
		t.Errorf("no client kept its session when nginx's reload moved it to a new socket")
	}
	t.Logf("after the reload: %d of %d old clients kept their sessions (connection IDs), the others connected again", kept, len(old))
}

// keepUp runs client.keepUp for every client at once and returns how many
// handshakes each took.
func (f *fleet) keepUp(t *testing.T, cs []*client, deadline time.Time) map[*client]int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	dials := map[*client]int{}
	for _, c := range cs {
		wg.Go(func() {
			n, err := c.keepUp(f.lb.addr, deadline)
			if err != nil {
				t.Errorf("%s: not served within %v: %v", c.identity, time.Until(deadline).Round(time.Millisecond), err)
			}
			mu.Lock()
			dials[c] = n
			mu.Unlock()
		})
	}
	wg.Wait()
	return dials
}

// checkSessions checks that each of nodes reports, in its metrics, as many
// sessions as clients name it in their connection IDs.
func (f *fleet) checkSessions(t *testing.T, cs []*client, nodes []*node) {
	want := map[int]float64{}
	for _, c := range cs {
		want[c.node()]++
	}
	for _, n := range nodes {
		// A session closed with close_notify (the probes') may take a
		// moment to go.
		var got float64
		for wait := time.Now().Add(3 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if got = n.metric(t, "dtlsgate_proxy_sessions"); got == want[n.id] || time.Now().After(wait) {
				break
			}
		}
		if got != want[n.id] {
			t.Errorf("node %d's metrics say %v sessions, %v clients' connection IDs name it", n.id, got, want[n.id])
		}
	}
}

// checkOwner checks that the node the client's connection ID names is a
// node of the fleet and logged the client's connect with that very ID.
func (f *fleet) checkOwner(t *testing.T, c *client) {
	if c.conn == nil {
		return // not served: reported already
	}
	cid, _ := c.conn.Session.PeerConnectionID()
	id := c.node()
	if id < nodeIDBase || id >= nodeIDBase+len(f.nodes) {
		t.Errorf("%s: connection ID %x names node %d, not one of the fleet's", c.identity, cid, id)
		return
	}
	// The node logs the connect once the handshake is done on its side,
	// which may be a moment after the client's.
	n := f.nodes[id-nodeIDBase]
	for wait := time.Now().Add(2 * time.Second); ; {
		for _, e := range n.log("connect") {
			if e["identity"] == c.identity && e["cid"] == hex.EncodeToString(cid) {
				return
			}
		}
		if time.Now().After(wait) {
			t.Errorf("%s: connection ID %x names node %d, whose log has no connect with it", c.identity, cid, id)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// log returns the node's JSON log lines with message msg.
func (n *node) log(msg string) []map[string]any {
	var found []map[string]any
	for line := range strings.Lines(n.out()) {
		var e map[string]any
		if json.Unmarshal([]byte(line), &e) == nil && e["msg"] == msg {
			found = append(found, e)
		}
	}
	return found
}

// logged counts the node's log lines with message msg about identity.
func (n *node) logged(msg, identity string) int {
	count := 0
	for _, e := range n.log(msg) {
		if e["identity"] == identity {
			count++
		}
	}
	return count
}
