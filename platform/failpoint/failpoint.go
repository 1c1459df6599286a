// Package failpoint stops a process at a named point, so that tests can prove
// that what was persisted up to there is enough to recover from a crash.
//
// Failpoints are off unless enabled, and cost one atomic load when off. A test
// enables them in a child process through the environment,
//
//	UBERSERVICE_FAILPOINTS="orders.saga.after_reserve=exit"
//
// or in its own process with Enable. Actions:
//   - exit: the process exits at once with status 137, as if killed, running
//     no deferred code and no shutdown;
//   - abandon: Inject returns ErrAbandoned, and the caller gives up on the work
//     in hand exactly as a crash would leave it, without undoing anything.
package failpoint

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
)

// EnvVar is the environment variable read at start-up.
const EnvVar = "UBERSERVICE_FAILPOINTS"

// ErrAbandoned is returned by Inject at an "abandon" failpoint.
var ErrAbandoned = errors.New("failpoint: work abandoned here, as if the process had crashed")

var (
	enabled atomic.Bool
	mu      sync.Mutex
	actions = map[string]string{}
)

func init() {
	if err := parse(os.Getenv(EnvVar)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}

func parse(spec string) error {
	for _, kv := range strings.Split(spec, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		name, action, ok := strings.Cut(kv, "=")
		if !ok || (action != "exit" && action != "abandon") {
			return fmt.Errorf("failpoint: %s: want name=exit or name=abandon, got %q", EnvVar, kv)
		}
		Enable(name, action)
	}
	return nil
}

// Enable arms the failpoint name with action ("exit" or "abandon") and returns
// a function that disarms it.
func Enable(name, action string) (disable func()) {
	mu.Lock()
	defer mu.Unlock()
	actions[name] = action
	enabled.Store(true)
	return func() {
		mu.Lock()
		defer mu.Unlock()
		delete(actions, name)
		enabled.Store(len(actions) > 0)
	}
}

// Inject is a failpoint called name. It does nothing unless the failpoint is
// armed.
func Inject(name string) error {
	if !enabled.Load() {
		return nil
	}
	mu.Lock()
	action := actions[name]
	mu.Unlock()
	switch action {
	case "exit":
		fmt.Fprintf(os.Stderr, "failpoint %s: exiting\n", name)
		os.Exit(137)
	case "abandon":
		return fmt.Errorf("%w (%s)", ErrAbandoned, name)
	}
	return nil
}
