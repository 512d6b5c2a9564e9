// SPDX-License-Identifier: MIT

package main

import (
	"net"
	"os"
)

// notifyReady tells systemd, when it started the proxy as a Type=notify
// service, that the proxy is serving: systemd sends no reload (SIGHUP)
// before then, and a SIGHUP that came before the handler was in place
// would end the process. Outside systemd ($NOTIFY_SOCKET unset) it does
// nothing.
func notifyReady() error {
	name := os.Getenv("NOTIFY_SOCKET")
	if name == "" {
		return nil
	}
	if name[0] == '@' { // an abstract socket
		name = "\x00" + name[1:]
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.Write([]byte("READY=1"))
	return err
}
