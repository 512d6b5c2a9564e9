// SPDX-License-Identifier: MIT

// Package dtlsnet drives session.Session over a real UDP socket, one peer
// at a time. The tests use it to talk to real DTLS implementations; it is
// the loop every application of the sans-I/O engine writes in some form.
package dtlsnet

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/dtlsgate/dtlsgate/core/session"
	"github.com/dtlsgate/dtlsgate/core/verifier"
)

// Conn is an established (or establishing) session bound to a socket and a peer.
type Conn struct {
	Session *session.Session
	UDP     *net.UDPConn
	Peer    netip.AddrPort
}

// Dial runs a client handshake with peer over conn until it completes,
// fails or deadline passes.
func Dial(conn *net.UDPConn, peer netip.AddrPort, cfg session.Config, deadline time.Time) (*Conn, error) {
	s, err := session.New(session.Client, cfg)
	if err != nil {
		return nil, err
	}
	if !s.SetPeer(peer) {
		return nil, errors.New(s.DtlsErrorString())
	}
	c := &Conn{Session: s, UDP: conn, Peer: peer}
	if !s.DoHandshake(nil) {
		return nil, c.sessionError()
	}
	if err := c.flush(); err != nil {
		return nil, err
	}
	return c, c.finishHandshake(deadline)
}

// Accept answers ClientHellos with the verifier until one carries a valid
// cookie, then runs the server handshake with that peer. Datagrams from
// other peers during the handshake are ignored.
func Accept(conn *net.UDPConn, v *verifier.ClientVerifier, cfg session.Config, deadline time.Time) (*Conn, error) {
	buf := make([]byte, 65536)
	reply := make([]byte, verifier.MaxReplySize)
	for {
		if err := conn.SetReadDeadline(deadline); err != nil {
			return nil, err
		}
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return nil, err
		}
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		res, rn, err := v.Check(buf[:n], from, reply)
		if err != nil {
			return nil, err
		}
		switch res {
		case verifier.SendReply:
			if _, err := conn.WriteToUDPAddrPort(reply[:rn], from); err != nil {
				return nil, err
			}
			continue
		case verifier.Drop:
			continue
		}
		cfg.Cookies = v.Generator()
		s, err := session.New(session.Server, cfg)
		if err != nil {
			return nil, err
		}
		s.SetPeer(from)
		c := &Conn{Session: s, UDP: conn, Peer: from}
		ok := s.DoHandshake(buf[:n])
		if err := c.flush(); err != nil {
			return nil, err
		}
		if !ok {
			return c, c.sessionError()
		}
		return c, c.finishHandshake(deadline)
	}
}

func (c *Conn) sessionError() error {
	return fmt.Errorf("%v: %s", c.Session.DtlsError(), c.Session.DtlsErrorString())
}

// flush sends what the session queued.
func (c *Conn) flush() error {
	for _, d := range c.Session.Outgoing() {
		if _, err := c.UDP.WriteToUDPAddrPort(d, c.Peer); err != nil {
			return err
		}
	}
	return nil
}

// readPeer waits for the next datagram from the peer until the earlier of
// deadline and the session's retransmission timer; ok is false on timeout.
func (c *Conn) readPeer(buf []byte, deadline time.Time) (n int, ok bool, err error) {
	for {
		d := deadline
		if t, running := c.Session.Timeout(); running && time.Now().Add(t).Before(d) {
			d = time.Now().Add(t)
		}
		if err := c.UDP.SetReadDeadline(d); err != nil {
			return 0, false, err
		}
		n, from, err := c.UDP.ReadFromUDPAddrPort(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return 0, false, nil
		}
		if err != nil {
			return 0, false, err
		}
		if from.Port() == c.Peer.Port() && from.Addr().Unmap() == c.Peer.Addr() {
			return n, true, nil
		}
	}
}

func (c *Conn) finishHandshake(deadline time.Time) error {
	buf := make([]byte, 65536)
	for c.Session.HandshakeState() == session.HandshakeInProgress {
		if time.Now().After(deadline) {
			return errors.New("dtlsnet: handshake deadline passed")
		}
		n, ok, err := c.readPeer(buf, deadline)
		if err != nil {
			return err
		}
		if ok {
			ok = c.Session.DoHandshake(buf[:n])
		} else {
			ok = c.Session.HandleTimeout()
		}
		if err := c.flush(); err != nil {
			return err
		}
		if !ok {
			return c.sessionError()
		}
	}
	if !c.Session.IsConnectionEncrypted() {
		return c.sessionError()
	}
	return nil
}

// Write sends data as one encrypted record.
func (c *Conn) Write(data []byte) error {
	if c.Session.WriteDatagramEncrypted(data) < 0 {
		return c.sessionError()
	}
	return c.flush()
}

// Read returns the next application data from the peer, answering anything
// else (a repeated Finished, an alert) on the way.
func (c *Conn) Read(deadline time.Time) ([]byte, error) {
	buf := make([]byte, 65536)
	for {
		n, ok, err := c.readPeer(buf, deadline)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errors.New("dtlsnet: read deadline passed")
		}
		data := c.Session.DecryptDatagram(buf[:n])
		if err := c.flush(); err != nil {
			return nil, err
		}
		if c.Session.DtlsError() != 0 {
			return nil, c.sessionError()
		}
		if len(data) > 0 {
			return data, nil
		}
	}
}

// Close sends close_notify if the connection is up.
func (c *Conn) Close() error {
	if c.Session.IsConnectionEncrypted() {
		c.Session.Shutdown()
	}
	return c.flush()
}
