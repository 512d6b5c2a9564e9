// SPDX-License-Identifier: MIT

package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"

	"github.com/dtlsgate/dtlsgate/internal/proxy"
	"github.com/dtlsgate/dtlsgate/internal/proxymetrics"
)

// --metrics ADDR: the Prometheus endpoint (internal/proxymetrics).
func init() {
	var address string
	var m *proxymetrics.Metrics
	var log *slog.Logger
	extensions = append(extensions, extension{
		help: `   Metrics
       --metrics HOST:PORT
              Serve Prometheus metrics over HTTP at http://HOST:PORT/metrics, for
              example 127.0.0.1:9184 (port 0: any free port; the log says which).
              Sessions, handshakes (completed, failed by reason, their duration),
              HelloVerifyRequests, datagrams and bytes each way on the device and
              the backend side, drops by reason, backend errors. Default: none.
`,
		flags: func(fs *flag.FlagSet) { fs.StringVar(&address, "metrics", "", "") },
		configure: func(cfg *proxy.Config) error {
			if address == "" {
				return nil
			}
			if _, _, err := net.SplitHostPort(address); err != nil {
				return fmt.Errorf("--metrics %q: want HOST:PORT", address)
			}
			m, log = proxymetrics.New(), cfg.Logger
			cfg.Observer = m
			return nil
		},
		started: func(ctx context.Context, p *proxy.Proxy) error {
			if m == nil {
				return nil
			}
			m.SetStats(p.Stats)
			ln, err := net.Listen("tcp", address)
			if err != nil {
				return fmt.Errorf("--metrics: %v", err)
			}
			log.Info("metrics", "url", "http://"+ln.Addr().String()+"/metrics")
			if err := m.Serve(ctx, ln); err != nil {
				return fmt.Errorf("--metrics: %v", err)
			}
			return nil
		},
	})
}
