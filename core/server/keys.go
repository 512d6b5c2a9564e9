// SPDX-License-Identifier: MIT

package server

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/dtlsgate/dtlsgate/core/secret"
	"github.com/dtlsgate/dtlsgate/core/session"
)

// KeyTable maps PSK identities to keys. It is safe for concurrent use: the
// workers of Serve share one while the application changes it. Keys are
// copied in and out, a byte at a time (see core/secret), and wiped
// when removed or replaced.
type KeyTable struct {
	mu   sync.RWMutex
	keys map[string][]byte
}

// NewKeyTable returns an empty table.
func NewKeyTable() *KeyTable { return &KeyTable{keys: make(map[string][]byte)} }

func checkEntry(identity, key []byte) error {
	switch {
	case len(identity) == 0:
		return fmt.Errorf("empty identity")
	case len(identity) > 65535:
		return fmt.Errorf("identity of %d bytes, more than 65535", len(identity))
	case len(key) == 0:
		return fmt.Errorf("empty key")
	case len(key) > session.MaxPreSharedKeyLength:
		return fmt.Errorf("key of %d bytes, more than %d", len(key), session.MaxPreSharedKeyLength)
	}
	return nil
}

// Set adds or changes the key of identity.
func (t *KeyTable) Set(identity, key []byte) error {
	if err := checkEntry(identity, key); err != nil {
		return fmt.Errorf("server: %v", err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.keys == nil {
		t.keys = make(map[string][]byte)
	}
	clear(t.keys[string(identity)])
	t.keys[string(identity)] = secret.Clone(key)
	return nil
}

// Remove forgets identity; it reports whether it was there.
func (t *KeyTable) Remove(identity []byte) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	k, ok := t.keys[string(identity)]
	clear(k)
	delete(t.keys, string(identity))
	return ok
}

// Replace swaps the whole table for keys at once: a lookup sees either the
// old table or the new one. The table takes copies.
func (t *KeyTable) Replace(keys map[string][]byte) error {
	fresh := make(map[string][]byte, len(keys))
	for id, k := range keys {
		if err := checkEntry([]byte(id), k); err != nil {
			return fmt.Errorf("server: identity %q: %v", id, err)
		}
		fresh[id] = secret.Clone(k)
	}
	t.mu.Lock()
	old := t.keys
	t.keys = fresh
	t.mu.Unlock()
	for _, k := range old {
		clear(k)
	}
	return nil
}

// Lookup returns a copy of identity's key; a nil table holds nothing.
func (t *KeyTable) Lookup(identity []byte) ([]byte, bool) {
	if t == nil {
		return nil, false
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	k, ok := t.keys[string(identity)]
	return secret.Clone(k), ok
}

// Len returns the number of identities.
func (t *KeyTable) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.keys)
}

// ReadKeyFile reads a file in the format of GnuTLS' psktool (see
// ParseKeys); an error names the file, and the line at fault. The caller
// owns the keys, and wipes them when done.
func ReadKeyFile(path string) (map[string][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	keys, err := ParseKeys(f)
	if err != nil {
		return nil, fmt.Errorf("%s:%v", path, err)
	}
	return keys, nil
}

// LoadFile replaces the table with the keys of a file in the format of
// GnuTLS' psktool (see ParseKeys); call it again to reload. On error the
// table is left as it was.
func (t *KeyTable) LoadFile(path string) error {
	keys, err := ReadKeyFile(path)
	if err != nil {
		return fmt.Errorf("server: %v", err)
	}
	defer func() {
		for _, k := range keys {
			clear(k)
		}
	}()
	return t.Replace(keys)
}

// ParseKeys reads `identity:hexkey` lines, the format GnuTLS' psktool
// writes: the identity is everything before the first colon, the key is
// hexadecimal. Empty lines are skipped. An error names the line (numbered
// from 1) and what is wrong with it; a duplicate identity is an error.
func ParseKeys(r io.Reader) (map[string][]byte, error) {
	keys := make(map[string][]byte)
	firstLine := make(map[string]int)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 1<<18)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimRight(sc.Bytes(), "\r")
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		id, hexKey, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return nil, fmt.Errorf("%d: no ':' between identity and key", n)
		}
		hexKey = bytes.TrimSpace(hexKey)
		key := make([]byte, hex.DecodedLen(len(hexKey)))
		if _, err := hex.Decode(key, hexKey); err != nil {
			return nil, fmt.Errorf("%d: the key of %q is not hexadecimal: %v", n, id, err)
		}
		if err := checkEntry(id, key); err != nil {
			return nil, fmt.Errorf("%d: %v", n, err)
		}
		if first, dup := firstLine[string(id)]; dup {
			return nil, fmt.Errorf("%d: identity %q already on line %d", n, id, first)
		}
		firstLine[string(id)] = n
		keys[string(id)] = key
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading: %v", err)
	}
	return keys, nil
}
