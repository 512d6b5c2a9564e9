// SPDX-License-Identifier: MIT

// Command dtlsgate-proxy puts DTLS 1.2 with pre-shared keys in front of any
// plain UDP service; `dtlsgate-proxy --help` is its manual.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/dtlsgate/dtlsgate/cmd/dtlsgate-proxy/internal/proxy"
	"github.com/dtlsgate/dtlsgate/core/server"
	"github.com/dtlsgate/dtlsgate/core/session"
)

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1 // a file, a socket, the system
	exitUsage = 2 // the command line
)

// extension lets another file of this command add flags and hook into the
// proxy without editing this one (it appends itself in an init function):
// help is its part of OPTIONS; flags registers its flags; configure runs
// once they are parsed, before the proxy is made (an Observer goes in
// there), and its error is a usage error; started runs once the proxy
// listens, until ctx ends, and its error stops the proxy.
type extension struct {
	help      string
	flags     func(fs *flag.FlagSet)
	configure func(cfg *proxy.Config) error
	started   func(ctx context.Context, p *proxy.Proxy) error
}

var extensions []extension

func main() {
	// As early as main can: a SIGHUP (a reload) that arrives before the
	// proxy listens is taken once the files are read and the sockets
	// open, rather than ending the process. Before main runs, only
	// systemd's wait for READY (notifyReady) keeps reloads away.
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, signals))
}

// options are the command line's settings.
type options struct {
	cfg                 proxy.Config
	unrouted            string
	idleTimeout         time.Duration
	cidLength           int
	logFormat, logLevel string
	version             bool
}

func flags(o *options) *flag.FlagSet {
	fs := flag.NewFlagSet("dtlsgate-proxy", flag.ContinueOnError)
	c, sc := &o.cfg, &o.cfg.Serve
	fs.StringVar(&c.Listen, "listen", "[::]:5684", "")
	fs.StringVar(&c.Backend, "backend", "", "")
	fs.StringVar(&c.PSKFile, "psk-file", "", "")
	fs.StringVar(&c.RouteFile, "route-file", "", "")
	fs.StringVar(&o.unrouted, "unrouted", "backend", "")
	fs.IntVar(&sc.Workers, "workers", 0, "")
	fs.IntVar(&sc.ReadBuffer, "read-buffer", server.DefaultReadBuffer, "")
	fs.IntVar(&sc.Server.MaxSessions, "max-sessions", server.DefaultMaxSessions, "")
	fs.IntVar(&sc.Server.MaxHalfOpen, "max-half-open", server.DefaultMaxHalfOpen, "")
	fs.IntVar(&sc.Server.MaxHalfOpenPerIP, "max-half-open-per-ip", server.DefaultMaxHalfOpenPerIP, "")
	fs.IntVar(&sc.Server.MaxBufferedBytes, "max-buffered-bytes", server.DefaultMaxBufferedBytes, "")
	fs.DurationVar(&sc.Server.Session.HandshakeDeadline, "handshake-deadline", session.DefaultHandshakeDeadline, "")
	fs.DurationVar(&o.idleTimeout, "idle-timeout", server.DefaultIdleTimeout, "")
	fs.DurationVar(&sc.Server.IdleAfter, "idle-after", server.DefaultIdleAfter, "")
	fs.IntVar(&o.cidLength, "cid-length", session.DefaultConnectionIDLength, "")
	fs.IntVar(&sc.Server.NodeID, "node-id", 0, "")
	fs.StringVar(&c.FleetKeyFile, "fleet-key-file", "", "")
	fs.DurationVar(&c.FleetWindow, "fleet-window", proxy.DefaultFleetWindow, "")
	fs.DurationVar(&c.FleetMaxSkew, "fleet-max-skew", proxy.DefaultFleetMaxSkew, "")
	fs.StringVar(&o.logFormat, "log-format", "text", "")
	fs.StringVar(&o.logLevel, "log-level", "info", "")
	fs.BoolVar(&o.version, "version", false, "")
	for _, x := range extensions {
		if x.flags != nil {
			x.flags(fs)
		}
	}
	return fs
}

// check turns the options into the proxy's Config, or says what is wrong.
func (o *options) check(fs *flag.FlagSet) error {
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (every setting is a --flag)", fs.Arg(0))
	}
	c, sc := &o.cfg, &o.cfg.Serve
	switch {
	case c.PSKFile == "":
		return errors.New("--psk-file is required")
	case c.Backend == "" && c.RouteFile == "":
		return errors.New("--backend or --route-file is required")
	case o.unrouted != "backend" && o.unrouted != "refuse":
		return fmt.Errorf("--unrouted %q: want backend or refuse", o.unrouted)
	case o.unrouted == "refuse" && c.RouteFile == "":
		return errors.New("--unrouted refuse needs a --route-file")
	case c.FleetKeyFile == "" && (isSet(fs, "fleet-window") || isSet(fs, "fleet-max-skew")):
		return errors.New("--fleet-window and --fleet-max-skew need a --fleet-key-file")
	case c.FleetWindow < time.Second || c.FleetWindow%time.Second != 0:
		return fmt.Errorf("--fleet-window %v: want whole seconds, at least 1s", c.FleetWindow)
	case c.FleetMaxSkew < 0:
		return fmt.Errorf("--fleet-max-skew %v is negative", c.FleetMaxSkew)
	case o.cidLength < 0 || o.cidLength > session.MaxConnectionIDLength:
		return fmt.Errorf("--cid-length %d: want 0 (off) to %d", o.cidLength, session.MaxConnectionIDLength)
	case sc.Server.NodeID < 0 || sc.Server.NodeID > 255:
		return fmt.Errorf("--node-id %d: want 0 (none) to 255", sc.Server.NodeID)
	case sc.Server.NodeID != 0 && o.cidLength < 2:
		return fmt.Errorf("--node-id needs a --cid-length of at least 2")
	case o.idleTimeout < 0:
		return fmt.Errorf("--idle-timeout %v is negative (0 turns it off)", o.idleTimeout)
	case sc.Server.Session.HandshakeDeadline <= 0:
		return fmt.Errorf("--handshake-deadline %v: want more than 0", sc.Server.Session.HandshakeDeadline)
	case sc.Server.IdleAfter <= 0:
		return fmt.Errorf("--idle-after %v: want more than 0", sc.Server.IdleAfter)
	}
	for name, v := range map[string]int{"workers": sc.Workers, "read-buffer": sc.ReadBuffer} {
		if v < 0 {
			return fmt.Errorf("--%s %d is negative (0: the default)", name, v)
		}
	}
	for name, v := range map[string]int{"max-sessions": sc.Server.MaxSessions, "max-half-open": sc.Server.MaxHalfOpen,
		"max-half-open-per-ip": sc.Server.MaxHalfOpenPerIP, "max-buffered-bytes": sc.Server.MaxBufferedBytes} {
		if v < 1 {
			return fmt.Errorf("--%s %d: want at least 1", name, v)
		}
	}
	c.RefuseUnrouted = o.unrouted == "refuse"
	sc.Server.IdleTimeout = o.idleTimeout
	if o.idleTimeout == 0 {
		sc.Server.IdleTimeout = server.NoIdleTimeout
	}
	sc.Server.ConnectionIDLength = o.cidLength
	if o.cidLength == 0 {
		sc.Server.ConnectionIDLength = session.NoConnectionID
	}
	return nil
}

func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

// run is the whole program; signals, when not nil, stands in for the
// process's (tests).
func run(args []string, stdout, stderr io.Writer, signals chan os.Signal) int {
	var o options
	fs := flags(&o)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	usage := func(err error) int {
		fmt.Fprintf(stderr, "dtlsgate-proxy: %v\nTry 'dtlsgate-proxy --help'.\n", err)
		return exitUsage
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, manual())
			return exitOK
		}
		return usage(err)
	}
	if o.version {
		fmt.Fprintln(stdout, "dtlsgate-proxy", version())
		return exitOK
	}
	if err := o.check(fs); err != nil {
		return usage(err)
	}
	useCores(o.cfg.Serve.Workers)
	log, err := newLogger(stderr, o.logFormat, o.logLevel)
	if err != nil {
		return usage(err)
	}
	o.cfg.Logger = log
	for _, x := range extensions {
		if x.configure != nil {
			if err := x.configure(&o.cfg); err != nil {
				return usage(err)
			}
		}
	}
	fail := func(err error) int {
		log.Error(strings.TrimPrefix(err.Error(), "proxy: "))
		return exitError
	}
	p, err := proxy.New(o.cfg)
	if err != nil {
		return fail(err)
	}

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	if err := p.Start(ctx); err != nil {
		return fail(err)
	}
	if err := notifyReady(); err != nil {
		log.Warn("could not tell systemd the proxy is ready", "error", err.Error())
	}
	status := exitOK
	failed := make(chan error, len(extensions))
	for _, x := range extensions {
		if x.started != nil {
			go func() {
				if err := x.started(ctx, p); err != nil {
					failed <- err
				}
			}()
		}
	}
	for ctx.Err() == nil {
		select {
		case s := <-signals:
			if s == syscall.SIGHUP {
				if err := p.Reload(); err != nil {
					log.Error("reload failed; the files in force stay", "error", strings.TrimPrefix(err.Error(), "proxy: "))
				}
				continue
			}
			log.Info("stopping", "signal", s.String())
			stop()
		case err := <-failed:
			log.Error(err.Error())
			status = exitError
			stop()
		}
	}
	p.Wait()
	st := p.Stats()
	log.Info("stopped", "handshakes", st.HandshakesCompleted, "handshakes_failed", st.HandshakesFailed+st.HandshakeTimeouts)
	return status
}

// useCores runs the Go code on as many cores as there are workers, when
// that is fewer than the machine's and the environment does not say
// (GOMAXPROCS): a worker's goroutines (its socket reader, its Server, its
// backend poller) then hand work to each other on one core instead of
// waking threads on others, which costs more than the work on a busy
// machine, and the operator's "--workers 1" is one core.
func useCores(workers int) {
	if workers > 0 && workers < runtime.NumCPU() && os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(workers)
	}
}
