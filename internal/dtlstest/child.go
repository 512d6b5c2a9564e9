// SPDX-License-Identifier: MIT

package dtlstest

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// childEnv names, in a child process RunChild started, the test it runs.
const childEnv = "DTLSTEST_CHILD"

// RunChild runs the test name of this test binary in a child process and
// returns its output, for a test whose failure is the point: a data race
// the race detector must report fails the test it happens in.
func RunChild(t *testing.T, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^"+name+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+name)
	out, _ := cmd.CombinedOutput() // it waits for the child, killed at the timeout
	if ctx.Err() != nil {
		t.Fatalf("%s did not finish: %s", name, out)
	}
	return string(out)
}

// WantRace runs each named test in a child process and fails t unless
// the race detector reported a race there; without the race detector it
// skips t.
func WantRace(t *testing.T, names ...string) {
	t.Helper()
	if !RaceEnabled {
		t.Skip("needs the race detector")
	}
	for _, name := range names {
		if out := RunChild(t, name); !strings.Contains(out, "WARNING: DATA RACE") {
			t.Errorf("%s: the race detector saw no race:\n%s", name, out)
		}
	}
}

// Child skips t unless RunChild started it.
func Child(t *testing.T) {
	if os.Getenv(childEnv) != t.Name() {
		t.Skip("run by RunChild")
	}
}
