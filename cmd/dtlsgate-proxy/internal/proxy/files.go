// SPDX-License-Identifier: MIT

package proxy

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"unicode"
)

// ParseRoutes reads an identity -> backend map: one `identity host:port`
// per line, the backend being the line's last field, so an identity may
// hold spaces; empty lines and lines starting with '#' are skipped. Host
// names are resolved once, here. An error names the line.
func ParseRoutes(r io.Reader) (map[string]netip.AddrPort, error) {
	routes := make(map[string]netip.AddrPort)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 1<<18)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		cut := strings.LastIndexFunc(line, unicode.IsSpace)
		if cut < 0 {
			return nil, fmt.Errorf("%d: want `identity host:port`, got one field", n)
		}
		id, backend := strings.TrimSpace(line[:cut]), line[cut+1:]
		if _, dup := routes[id]; dup {
			return nil, fmt.Errorf("%d: identity %q listed twice", n, id)
		}
		a, err := ResolveBackend(backend)
		if err != nil {
			return nil, fmt.Errorf("%d: %v", n, err)
		}
		routes[id] = a
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading: %v", err)
	}
	return routes, nil
}

// LoadRoutes reads the route file at path (see ParseRoutes).
func LoadRoutes(path string) (map[string]netip.AddrPort, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	routes, err := ParseRoutes(f)
	if err != nil {
		return nil, fmt.Errorf("%s:%v", path, err)
	}
	return routes, nil
}

// ResolveBackend turns "host:port" into an address, resolving a name.
func ResolveBackend(hostport string) (netip.AddrPort, error) {
	ua, err := net.ResolveUDPAddr("udp", hostport)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("backend %q: %v", hostport, err)
	}
	a := ua.AddrPort()
	if a.Port() == 0 || !a.Addr().IsValid() || a.Addr().IsUnspecified() {
		return netip.AddrPort{}, fmt.Errorf("backend %q: need a host and a port other than 0", hostport)
	}
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port()), nil
}

// minFleetKey is the cookie generator's shortest master key.
const minFleetKey = 16

// LoadFleetKey reads a fleet master key: hexadecimal, at least 16 bytes,
// white space and lines starting with '#' ignored (so `openssl rand -hex
// 32 > fleet.key` makes one).
func LoadFleetKey(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	defer clear(raw)
	var digits []byte
	// bytes, not strings: the key's digits are wiped once read.
	for line := range bytes.Lines(raw) {
		line = bytes.TrimSpace(line)
		if bytes.HasPrefix(line, []byte("#")) {
			continue
		}
		for _, f := range bytes.Fields(line) {
			digits = append(digits, f...)
		}
	}
	defer clear(digits)
	key := make([]byte, hex.DecodedLen(len(digits)))
	if _, err := hex.Decode(key, digits); err != nil {
		return nil, fmt.Errorf("%s: the fleet key is not hexadecimal: %v", path, err)
	}
	if len(key) < minFleetKey {
		return nil, fmt.Errorf("%s: the fleet key has %d bytes, at least %d are needed", path, len(key), minFleetKey)
	}
	return key, nil
}
