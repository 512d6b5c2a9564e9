// SPDX-License-Identifier: MIT

package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
)

// exchange is what a client of the echo and coap modes sends, and how it
// tells a right answer from a wrong one.
type exchange interface {
	size() int       // the length of every request
	request() []byte // the next request, valid until the next call
	check([]byte) error
}

// echoExchange sends the same message again and again; the server
// answers "echo: MESSAGE" (examples/CONTRACT.md).
type echoExchange struct{ msg, want []byte }

func newEchoExchange(payload int) *echoExchange {
	msg := bytes.Repeat([]byte{'x'}, payload)
	return &echoExchange{msg, append([]byte(echoPrefix), msg...)}
}

func (e *echoExchange) size() int       { return len(e.msg) }
func (e *echoExchange) request() []byte { return e.msg }
func (e *echoExchange) check(got []byte) error {
	if !bytes.Equal(got, e.want) {
		return fmt.Errorf("echo of %d bytes came back as %q", len(e.msg), got[:min(len(got), 40)])
	}
	return nil
}

// CoAP (RFC 7252 section 3): the first byte holds the version (1), the
// type and the token length; then the code and the message ID.
const (
	coapCON       = 0 << 4
	coapACK       = 2 << 4
	coapGET       = 0x01
	coapContent   = 0x45 // 2.05
	coapTokenLen  = 4
	coapHeaderLen = 4
)

// coapExchange sends confirmable GETs of / (no Uri-Path option), each with
// the next message ID and the client's token; a right answer is the
// piggybacked 2.05 in an ACK with that token.
type coapExchange struct {
	req [coapHeaderLen + coapTokenLen]byte
	mid uint16
}

func newCoAPExchange() *coapExchange {
	e := &coapExchange{mid: uint16(rand.Uint32())}
	e.req[0] = 1<<6 | coapCON | coapTokenLen
	e.req[1] = coapGET
	binary.BigEndian.PutUint32(e.req[coapHeaderLen:], rand.Uint32())
	return e
}

func (e *coapExchange) size() int { return len(e.req) }

func (e *coapExchange) request() []byte {
	e.mid++
	binary.BigEndian.PutUint16(e.req[2:], e.mid)
	return e.req[:]
}

func (e *coapExchange) check(got []byte) error {
	switch {
	case len(got) < len(e.req) || got[0] != 1<<6|coapACK|coapTokenLen:
		return fmt.Errorf("CoAP: want an ACK with a %d-byte token, got % x", coapTokenLen, got[:min(len(got), 8)])
	case got[1] != coapContent:
		return fmt.Errorf("CoAP: want 2.05 Content, got %d.%02d", got[1]>>5, got[1]&31)
	case !bytes.Equal(got[coapHeaderLen:len(e.req)], e.req[coapHeaderLen:]):
		return fmt.Errorf("CoAP: a response with another client's token")
	}
	return nil
}
